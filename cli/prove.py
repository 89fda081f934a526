"""``bpverify prove``: prove a hand-derived gradient equal to the derived one, or refute it."""

from __future__ import annotations

import json

import click

from . import exitcodes
from .options import library, network_spec, with_network_options
from .progress import reporter

MAX_CLAIM_LINES = 500
"""Most claims read from one --claim-file."""


@click.command()
@with_network_options
@click.option(
    "--wrt",
    default=None,
    help="What the claim differentiates by: w^(l)_jk, b^(l)_j, a^(l)_k or z^(l)_j; its index "
    "letters are the claim's free indices.",
)
@click.option("--claim", default=None, help="The claimed gradient (plain language or LaTeX).")
@click.option(
    "--claim-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Check one claim per line ('WRT: CLAIM', or CLAIM with --wrt); # starts a comment.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
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
def prove(
    layers, widths, activation, loss, leaky_slope, wrt, claim, claim_file, as_json, points, seed
):
    """Prove a claimed gradient dC_0/d(WRT) equal to the derived one, or refute it.

    \b
    Exit codes: 0 proved, 1 refuted (with a counterexample), 3 undecided, 2 bad input.
    With --claim-file: 2 if any line is bad input, else 1 if any is refuted, else 3 if
    any is undecided, else 0.

    \b
    Example:
      bpverify prove --layers 3 --wrt "w^(3)_jk" \\
        --claim "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
    """
    from bpverify.derive.prove import ClaimError

    spec = network_spec(layers, widths, activation, loss, leaky_slope)
    if (claim is None) == (claim_file is None):
        raise ClaimError("give exactly one of --claim TEXT and --claim-file FILE")
    if claim is not None:
        if wrt is None:
            raise ClaimError("give the quantity with --wrt, e.g. --wrt 'w^(3)_jk'")
        verdict = _prove(spec, wrt, claim, points, seed)
        click.echo(json.dumps(verdict.to_dict(), indent=2) if as_json else _text(verdict))
        raise click.exceptions.Exit(exitcodes.VERDICTS[verdict.status])
    _prove_file(spec, wrt, claim_file, as_json, points, seed)


def _prove(spec, wrt, claim, points, seed):
    from bpverify.derive.prove import prove as run

    with reporter(f"bpverify prove {wrt}") as progress:
        return run(spec, wrt, claim, points=points, seed=seed, progress=progress)


def _prove_file(spec, wrt, path, as_json, points, seed):
    """One verdict per line; a bad line is reported in its place and the rest still run."""
    from bpverify.derive import InputError
    from bpverify.derive.prove import ClaimError

    try:
        with open(path, encoding="utf-8") as f:
            lines = [(n, line.strip()) for n, line in enumerate(f, start=1)]
    except UnicodeDecodeError:
        raise ClaimError(f"{path} is not UTF-8 text: save the claims as UTF-8") from None
    lines = [(n, line) for n, line in lines if line and not line.startswith("#")]
    if len(lines) > MAX_CLAIM_LINES:
        raise ClaimError(f"{path} has {len(lines)} claims, more than {MAX_CLAIM_LINES}: split it")
    records, codes = [], []
    for n, line in lines:
        line_wrt, text = line.split(":", 1) if ":" in line else (wrt, line)
        try:
            if line_wrt is None:
                raise ClaimError("no quantity: write 'WRT: CLAIM' or give --wrt")
            verdict = _prove(spec, line_wrt.strip(), text.strip(), points, seed)
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
    if as_json:
        click.echo(json.dumps({"claims": records, "exit_code": worst}, indent=2))
    raise click.exceptions.Exit(worst)


def _text(v) -> str:
    """A verdict as a few indented lines."""
    lines = [f"{v.status}  dC_0/d{v.wrt} = {v.claim}", f"  {v.message}"]
    if v.hint:
        lines.append(f"  hint: {v.hint}")
    if v.counterexample:
        point = v.counterexample
        lines.append(f"  counterexample: claim = {v.claim_value}, derived = {v.truth_value} at")
        lines.append("    " + ", ".join(f"{name} = {value}" for name, value in point.items()))
    lines.extend(f"  note: {note}" for note in v.notes)
    return "\n".join(lines)
