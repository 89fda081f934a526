"""``bpverify prove``: prove a hand-derived gradient equal to the derived one, or refute it."""

from __future__ import annotations

import contextlib
import json

import click

from . import exitcodes
from .files import check_outputs, write_text_atomic
from .options import library, network_spec, timeout_option, with_network_options
from .progress import reporter


@click.command()
@with_network_options
@click.option(
    "--wrt",
    default=None,
    help="What the claim differentiates by: w^(l)_jk, b^(l)_j, a^(l)_k or z^(l)_j; its index "
    "letters are the claim's free indices. Not needed when the claim begins with it "
    "(dC_0/dw^(3)_jk = ...).",
)
@click.option("--claim", default=None, help="The claimed gradient (plain language or LaTeX).")
@click.option(
    "--claim-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Check one claim per line ('WRT: CLAIM', or CLAIM with --wrt); # starts a comment.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Print the verdicts as text or as JSON.",
)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@click.option(
    "--gradescope",
    "gradescope_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write FILE (results.json) in Gradescope's autograder format: one test per "
    "claim, 1 point when PROVED, the hint as its output.",
)
@click.option(
    "--points",
    type=click.IntRange(1, 1000),
    default=library("bpverify.derive.prove:prove", "points"),
    show_default=True,
    help="Random networks to try for a counterexample.",
)
@click.option(
    "--seed",
    type=int,
    default=library("bpverify.derive.prove:prove", "seed"),
    show_default=True,
    help="Seed of those networks.",
)
@timeout_option(
    "bpverify.derive.budget:PROVE_TIMEOUT",
    "Seconds each claim may take; past them it is UNDECIDED.",
)
def prove(
    layers,
    widths,
    activation,
    loss,
    leaky_slope,
    cost,
    l2,
    wrt,
    claim,
    claim_file,
    fmt,
    as_json,
    gradescope_path,
    points,
    seed,
    timeout,
):
    """Prove a claimed gradient dC_0/d(WRT) equal to the derived one, or refute it.

    \b
    Exit codes: 0 proved, 1 refuted (with a counterexample), 3 undecided (also when a
    claim overruns --timeout), 2 bad input. With --claim-file: 2 if any line is bad input,
    else 1 if any is refuted, else 3 if any is undecided, else 0.

    \b
    Example:
      bpverify prove --layers 3 --wrt "w^(3)_jk" \\
        --claim "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
    """
    from bpverify.derive.prove import ClaimError

    # --cost and --l2 shape the batch cost C of matrix claims; index claims are of C_0
    spec = network_spec(layers, widths, activation, loss, leaky_slope, cost, l2)
    if (claim is None) == (claim_file is None):
        raise ClaimError("give exactly one of --claim TEXT and --claim-file FILE")
    as_json = as_json or fmt == "json"
    check_outputs({"--gradescope": gradescope_path})
    with _prover(timeout) as worker:
        if claim is not None:
            verdict = _prove(worker, spec, wrt, claim, points, seed)
            _grade(gradescope_path, [{"line": 1, **verdict.to_dict()}])
            click.echo(json.dumps(verdict.to_dict(), indent=2) if as_json else _text(verdict))
            raise click.exceptions.Exit(exitcodes.VERDICTS[verdict.status])
        _prove_file(worker, spec, wrt, claim_file, as_json, gradescope_path, points, seed)


def _grade(path, records) -> None:
    """Write the Gradescope results file of ``records`` to ``path`` (when given)."""
    if path:
        from bpverify.derive.prove.grading import results

        write_text_atomic(path, json.dumps(results(records), indent=2) + "\n")


@contextlib.contextmanager
def _prover(timeout):
    """The worker process every claim runs in, each on its own budget of ``timeout`` seconds
    (None for --timeout 0: the claims run here, without a budget)."""
    if not timeout:
        yield None
        return
    from bpverify.derive.budget import Worker

    # made before the progress timer's thread starts: a one-thread process may fork
    with Worker(timeout, what="the proof") as worker:
        yield worker


def _prove(worker, spec, wrt, claim, points, seed):
    from bpverify.derive.prove import prove as run
    from bpverify.derive.prove import prove_within

    # wrt None: the library reads the claim's pasted left-hand side (resolve_wrt)
    with reporter(f"bpverify prove {(wrt or claim)[:40]}") as progress:
        if worker is None:
            return run(spec, wrt, claim, points=points, seed=seed, progress=progress)
        return prove_within(worker, spec, wrt, claim, points=points, seed=seed, progress=progress)


def read_claims(path: str) -> list[tuple[int, str]]:
    """The claims of a --claim-file as (line number, text), blank lines and # comments left
    out. Its size is checked while it is read (at most the ``claim_file_bytes`` limit plus one
    byte is read: /dev/zero is refused, not read whole), and so is its text."""
    from bpverify.derive.limits import LIMITS
    from bpverify.derive.prove import ClaimError

    size, claims = LIMITS["claim_file_bytes"], LIMITS["claim_file_claims"]
    try:
        with open(path, "rb") as f:
            data = f.read(size.value() + 1)
    except OSError as e:
        raise ClaimError(
            f"--claim-file {path} cannot be read ({e.strerror or e}): give a readable text file"
        ) from None
    if len(data) > size.value():
        raise ClaimError(
            f"--claim-file {path} has more than the {size.value()} bytes accepted: split it "
            f"(or raise the limit with {size.env}=N)"
        )
    if b"\0" in data:
        raise ClaimError(
            f"--claim-file {path} is not a text file (it holds NUL bytes): give a text file "
            "with one claim per line"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ClaimError(
            f"--claim-file {path} is not UTF-8 text: save the claims as UTF-8"
        ) from None
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    lines = [(n, line) for n, line in lines if line and not line.startswith("#")]
    if not lines:
        raise ClaimError(
            f"--claim-file {path} holds no claims: write one per line as 'WRT: CLAIM', "
            "e.g. b^(3)_j: sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
        )
    if len(lines) > claims.value():
        raise ClaimError(f"--claim-file {path}: {claims.refusal(f'{len(lines)} claims')}; split it")
    return lines


def _prove_file(worker, spec, wrt, path, as_json, gradescope_path, points, seed):
    """One verdict per line, each on its own budget; a bad line or one that overruns its budget
    is reported in its place and the rest still run."""
    from bpverify.derive import InputError

    records, codes = [], []
    for n, line in read_claims(path):
        line_wrt, text = line.split(":", 1) if ":" in line else (wrt, line)
        try:
            verdict = _prove(worker, spec, line_wrt, text.strip(), points, seed)
        except InputError as e:
            code = exitcodes.BAD_INPUT
            record = {"line": n, "status": "BAD INPUT", "message": str(e)}
            out = f"line {n}: BAD INPUT  {e}"
        else:
            code, record = exitcodes.VERDICTS[verdict.status], {"line": n, **verdict.to_dict()}
            out = f"line {n}: {_text(verdict)}"
        records.append(record)
        codes.append(code)
        if not as_json:
            click.echo(out)
    worst = exitcodes.worst(codes)
    _grade(gradescope_path, records)
    if as_json:
        click.echo(json.dumps({"claims": records, "exit_code": worst}, indent=2))
    raise click.exceptions.Exit(worst)


def _text(v) -> str:
    """A verdict as a few indented lines; a claim that begins with its left-hand side is
    shown as written."""
    from bpverify.derive.prove.claims import split_claim

    shown = v.claim if split_claim(v.claim)[0] else f"d{v.of}/d{v.wrt} = {v.claim}"
    lines = [f"{v.status}  {shown}", f"  {v.message}"]
    if v.hint:
        lines.append(f"  hint: {v.hint}")
    if v.counterexample:
        point = v.counterexample
        lines.append(f"  counterexample: claim = {v.claim_value}, derived = {v.truth_value} at")
        lines.append("    " + ", ".join(f"{name} = {value}" for name, value in point.items()))
    lines.extend(f"  note: {note}" for note in v.notes)
    return "\n".join(lines)
