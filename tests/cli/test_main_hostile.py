"""A hostile user at every command: each row of ``CASES`` is one bad or adversarial input and the
outcome the exit-code contract of ``cli/main.py`` promises for it.

Every row asserts the exit-code class (0 pass, 1 fail or REFUTED, 2 bad input, 3 UNDECIDED; never
4, never a traceback), that bad input is ONE line on stderr naming the problem (the row's regex),
and, for the work that has a budget, that the verdict comes from the tool's own budget (small
budgets such as ``--timeout 2`` are passed; pytest-timeout is only a safety net; no row asserts
a time). Most rows run in this process through click's CliRunner. Rows whose ``how`` says so run
the installed ``bpverify`` in a process of its own (os._exit, /dev/full, a closed stdout, a
reader gone), through a small runner that reports the child's peak RSS
(``getrusage(RUSAGE_CHILDREN)`` in that fresh runner, so no earlier child counts): the memory
bombs must stay under 1 GB. An unreadable file is simulated, as root (the tests may run as root)
reads a mode-000 file anyway.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bpverify.cli.main import main

BPVERIFY = str(Path(sys.executable).with_name("bpverify"))
ONE_GB_KB = 2**20  # ru_maxrss is in KiB on Linux
READ_ONLY_DIR = "/sys"  # not writable even by root: a real read-only directory for output cases

Content = str | bytes | Callable[[Path], str | bytes]


@dataclass(frozen=True)
class Case:
    """One hostile input. ``argv`` may hold ``{tmp}`` (the test's directory, also the working
    directory); ``files`` are created there first (name -> text, bytes, or a function of the
    directory); ``code`` is the exit code or the codes allowed; ``pattern`` must match the one
    stderr line of bad input, or else somewhere in the output."""

    id: str
    argv: str | list[str]  # a string is split at spaces
    code: int | tuple[int, ...]
    pattern: str
    files: dict[str, Content] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    how: str = ""  # words: "proc" a real process (exits, memory, special files, signals);
    # "rss" also its peak RSS under 1 GB; "full" its stdout /dev/full, "closed" closed, "pipe"
    # a pipe whose reader has gone; "sigint" Ctrl-C once the file "ran" appears; each of these
    # implies "proc"; "slow" marks the row slow
    unreadable: str | None = None  # a file of the row that reading fails on, as mode 000 would
    access_allows: bool = False  # os.access still says the unreadable file is readable (an
    # error that appears only on opening: a network file system, a file removed meanwhile)
    where: str = "err"  # bad input named on stderr's one line; "last": on its last line, after
    # the line that announces the work; "out": per input line on stdout (claim files)
    after: Callable[[Path], None] | None = None  # more assertions on the files afterwards

    @property
    def proc(self) -> bool:
        return bool({"proc", "rss", "full", "closed", "pipe", "sigint"} & set(self.how.split()))

    @property
    def stdout(self) -> str:
        modes = ("full", "closed", "pipe", "sigint")
        return next((w for w in self.how.split() if w in modes), "file")


# -- files the rows create -------------------------------------------------------------------------

# A hand-written backprop of widths 2,1 (one sigmoid layer, squared loss, mean over the batch).
GOOD_GRADS = """\
import numpy as np


def grads(params, X, Y):
    A = 1 / (1 + np.exp(-(X @ params["W1"].T + params["b1"])))
    d = 2 * (A - Y) / X.shape[0] * A * (1 - A)
    return {"W1": d.T @ X, "b1": d.sum(0)}
"""


def grad_fn(body: str, top: str = "") -> str:
    """A module ``user.py`` whose ``grads`` runs ``body`` (indented by the caller's lines)."""
    lines = "\n".join(f"    {line}" for line in body.splitlines())
    return f"import os, sys, time\nimport numpy as np\n{top}\n\ndef grads(params, X, Y):\n{lines}\n"


GOOD_BODY = """\
A = 1 / (1 + np.exp(-(X @ params["W1"].T + params["b1"])))
d = 2 * (A - Y) / X.shape[0] * A * (1 - A)
g = {"W1": d.T @ X, "b1": d.sum(0)}"""

RAN_MARKER = 'import pathlib\n\npathlib.Path(__file__).with_name("ran").touch()\n'

WRONG_GRADS = """

def wrong(params, X, Y):
    g = grads(params, X, Y)
    return {k: -v for k, v in g.items()}
"""

CONFIG_WRONG = '[[check]]\nwidths = [2, 1]\npoints = 1\ngrad-fn = "user.py:wrong"\n'

BAD_ARRAY = """\
class Evil:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("no array for you")
"""

LAYER = """\
import os, sys, time
import numpy as np


def forward(x):
    return np.sum(np.tanh(x) ** 2)


def backward(x):
    return 2 * np.tanh(x) * (1 - np.tanh(x) ** 2)


def loops(x):
    while True:
        pass


def exits(x):
    sys.exit(0)


def ends(x):
    os._exit(0)


def arctan(x):
    return np.sum(np.arctan(x))


def darctan(x):
    return 1 / (1 + x**2)
"""

LAYER_FILE = {"layer.py": LAYER}
FUNCTION = "check --function {tmp}/layer.py:forward --grad-fn {tmp}/layer.py:backward --input x=3"


def function(old: str, new: str, more: str = "") -> str:
    """``FUNCTION`` with the function ``old`` replaced by ``new`` (``:name`` or a file), and
    ``more`` options."""
    old, new = (x if ".py" in x else f":{x}" for x in (old, new))
    return f"{FUNCTION.replace(old, new)} {more}".strip()


NET1 = "--widths 2,1 --points 1 --batch 2"
CHECK = f"check {NET1}"
USER = "{tmp}/user.py:grads"


def user_check(
    body: str, code: int, pattern: str, *, top: str = "", extra=(), timeout: str = "", **kw
) -> dict:
    """The fields of a ``check --grad-fn`` row whose function runs ``body``: on a 2 s budget
    when it fails (a hang then ends in 2 s), on the default one when it passes (a loaded
    machine may need more than 2 s to start the worker), or on ``timeout`` seconds."""
    timeout = timeout or ("60" if code == 0 else "2")
    return dict(
        argv=[*CHECK.split(), "--timeout", timeout, *extra, "--grad-fn", USER],
        code=code,
        pattern=pattern,
        files={"user.py": grad_fn(body, top)},
        **kw,
    )


def args(words: str, *more: str) -> list[str]:
    """An argv: ``words`` split at spaces, then ``more`` as they are (claims hold spaces)."""
    return [*words.split(), *more]


def nested_toml(depth: int) -> str:
    return "x = " + "[" * depth + "]" * depth + "\n"


XOR_CSV = "x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"


def npz_bytes(**arrays) -> Callable[[Path], bytes]:
    def make(tmp: Path) -> bytes:
        path = tmp / ".made.npz"
        np.savez(path, **arrays)
        return path.read_bytes()

    return make


def saved_model(tmp: Path, damage: Callable[[dict], None]) -> bytes:
    """A model file trained on xor for one epoch, its arrays changed by ``damage``."""
    path = tmp / ".model.npz"
    r = CliRunner().invoke(main, ["train", "--data", "xor", "--epochs", "1", "--save", str(path)])
    assert r.exit_code == 0, r.output
    with np.load(path, allow_pickle=False) as f:
        arrays = dict(f)
    damage(arrays)
    np.savez(path, **arrays)
    return path.read_bytes()


def _nan_weights(arrays: dict) -> None:
    key = next(k for k in arrays if k.startswith("W"))
    arrays[key] = np.full_like(arrays[key], np.nan)


def _bad_rng(arrays: dict) -> None:
    key = next(k for k in arrays if "rng" in k)
    arrays[key] = np.array(b"garbage")


def mode_of(name: str, mode: int | None = None) -> Callable[[Path], None]:
    """The file's mode is ``mode``, or by default that of any new file: 0666 less the umask."""

    def check(tmp: Path) -> None:
        umask = os.umask(0)
        os.umask(umask)
        want = 0o666 & ~umask if mode is None else mode
        assert stat.S_IMODE((tmp / name).stat().st_mode) == want, oct((tmp / name).stat().st_mode)

    return check


def is_svg(name: str) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        head = (tmp / name).read_bytes()[:200]
        assert b"<svg" in head or b"<?xml" in head, head

    return check


def parses(name: str) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        path = tmp / name
        if path.exists():
            compile(path.read_text(), str(path), "exec")

    return check


def untouched(name: str, text: str) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        assert (tmp / name).read_text() == text

    return check


def absent(name: str) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        assert not (tmp / name).exists()

    return check


# -- the claims ------------------------------------------------------------------------------------

TOWER = "((((((((((9)^10)^10)^10)^10)^10)^10)^10)^10)^10)^10"
EXPANSION = "((a^(1)_k + a^(2)_k + y_j)^10 + 1)^10"
SIGMA20 = "sigma'(" * 20 + "z^(1)_j" + ")" * 20
W3 = "--layers 3 --wrt w^(3)_jk"
SEED_W3 = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
CE_CLAIM = "a^(1)_k * sigma'(z^(2)_j) * sum_i(w^(3)_ij * (a^(3)_i - y_i))"
PROVE = "prove --timeout 2"
NAMES_TIMEOUT = r"^(?!.*No such option).*--timeout"

WIDTH_4000 = "1" * 4000
WIDTH_5000 = "1" * 5000
WIDTHS_20001 = ",".join(["1"] * 20001)


def _rows() -> list[Case]:
    c = Case
    # fmt: off
    rows = [
        # -- bpverify itself ----------------------------------------------------------------------
        c("bare", "", 0, r"Usage: bpverify"),
        c("help", "--help", 0, r"Exit codes"),
        c("help-short", "-h", 0, r"Usage: bpverify"),
        c("version", "--version", 0, r"bpverify, version"),
        c("unknown-command", "proof", 2, r"No such command 'proof'"),
        c("unknown-command-unicode", ["dérive"], 2, r"No such command"),
        c("empty-command", [""], 2, r"No such command"),
        c("unknown-global-option", "--bogus", 2, r"No such option '--bogus'"),
        c("debug-env-garbage", "derive --layers 1", 2, r"BPVERIFY_DEBUG|debug",
          env={"BPVERIFY_DEBUG": "maybe"}),
        c("debug-env-on", "derive --layers 1 --no-verify --format text", 0, r"dC",
          env={"BPVERIFY_DEBUG": "1"}),
        *[
            c(f"{cmd}-help", [cmd, "--help"], 0, rf"Usage: bpverify {cmd}")
            for cmd in ("derive", "prove", "generate", "train", "check")
        ],
        # -- derive -------------------------------------------------------------------------------
        c("derive-layers-0", "derive --layers 0", 2, r"layers"),
        c("derive-layers-negative", "derive --layers -3", 2, r"layers"),
        c("derive-layers-text", "derive --layers three", 2, r"--layers.*not a valid integer"),
        c("derive-layers-100000", "derive --layers 100000", 2, r"layers.*(limit|at most)",
          how="rss"),
        c("derive-layers-huge-int", args("derive --layers", "9" * 30), 2, r"layers"),
        c("derive-no-network", "derive", 2, r"layers|widths"),
        c("derive-widths-empty", args("derive --widths", ""), 2, r"widths"),
        c("derive-widths-double-comma", "derive --widths 2,,1", 2, r"widths"),
        c("derive-widths-zero", "derive --widths 0,1", 2, r"widths"),
        c("derive-widths-negative", "derive --widths 2,-1", 2, r"widths"),
        c("derive-widths-float", "derive --widths 2.5,1", 2, r"widths"),
        c("derive-widths-one-entry", "derive --widths 2", 2, r"--widths needs the input width"),
        c("derive-widths-superscript", "derive --widths ²", 2, r"--widths: width '²'"),
        c("derive-widths-disagree-layers", "derive --layers 3 --widths 2,1", 2, r"widths|layers"),
        c("derive-widths-4000-digits", args("derive --widths", f"{WIDTH_4000},1"), 2, r"widths"),
        c("derive-widths-5000-digits", args("derive --widths", f"{WIDTH_5000},1"), 2,
          r"^(?!.*set_int_max_str_digits).*widths"),
        c("derive-widths-20001", args("derive --widths", WIDTHS_20001), 2, r"widths|layers",
          how="rss"),
        c("derive-widths-huge-unrolled", "derive --widths 1000000000,1 --form unrolled", 2,
          r"widths|unrolled", how="rss"),
        c("derive-unrolled-million-parameters", "derive --widths 1000,1000,1 --form unrolled", 2,
          r"parameters.*--form matrix", how="rss"),
        c("derive-limit-env-text", "derive --layers 2 --no-verify", 2, r"BPVERIFY_MAX_LAYERS",
          env={"BPVERIFY_MAX_LAYERS": "abc"}),
        c("derive-limit-env-negative", "derive --layers 2 --no-verify", 2, r"BPVERIFY_MAX_LAYERS",
          env={"BPVERIFY_MAX_LAYERS": "-5"}),
        c("derive-limit-env-raised", "derive --layers 2 --no-verify --format text", 0, r"dC",
          env={"BPVERIFY_MAX_LAYERS": "5000"}),
        c("derive-output-and-render-one-file-two-spellings",
          "derive --layers 1 -o {tmp}/x.png --render {tmp}/./x.png", 2, r"both write"),
        c("derive-activation-unknown", "derive --layers 1 --activation swish", 2, r"activation"),
        c("derive-activation-count", "derive --layers 3 --activation tanh,relu", 2, r"activation"),
        c("derive-loss-unknown", "derive --layers 1 --loss hinge", 2, r"loss.*hinge"),
        c("derive-leaky-slope-div0", "derive --layers 1 --activation leaky_relu --leaky-slope 1/0",
          2, r"leaky-slope"),
        c("derive-leaky-slope-huge",
          "derive --layers 1 --activation leaky_relu --leaky-slope 1e999999999", 2, r"leaky-slope",
          how="rss"),
        c("derive-leaky-slope-text",
          "derive --layers 1 --activation leaky_relu --leaky-slope steep", 2, r"leaky-slope"),
        c("derive-leaky-slope-nan", "derive --layers 1 --activation leaky_relu --leaky-slope nan",
          2, r"leaky-slope"),
        c("derive-leaky-slope-code", args("derive --layers 1 --activation leaky_relu --leaky-slope",
          "__import__('os').system('touch pwned')"), 2, r"leaky-slope", after=absent("pwned")),
        c("derive-form-unknown", "derive --layers 1 --form tensor", 2, r"--form"),
        c("derive-format-unknown", "derive --layers 1 --format html", 2, r"--format"),
        c("derive-output-missing-dir", "derive --layers 1 -o {tmp}/no/such/out.tex", 2,
          r"does not exist"),
        c("derive-output-is-dir", "derive --layers 1 -o {tmp}", 2, r"directory"),
        c("derive-output-read-only", args("derive --layers 1 -o", f"{READ_ONLY_DIR}/out.tex"), 2,
          r"cannot write|permission|read-only"),
        c("derive-output-under-a-file", "derive --layers 1 -o {tmp}/f.txt/out.tex", 2,
          r"does not exist|directory", files={"f.txt": "x"}),
        c("derive-render-read-only", args("derive --layers 1 --render", f"{READ_ONLY_DIR}/r.png"),
          2, r"cannot write|permission|read-only"),
        c("derive-render-suffix", "derive --layers 1 --render {tmp}/r.txt", 2,
          r"render|png|svg|pdf"),
        c("derive-output-and-render-one-path",
          "derive --layers 1 -o {tmp}/x.png --render {tmp}/x.png", 2, r"both write"),
        c("derive-output-new-file-mode", "derive --layers 1 --no-verify -o {tmp}/new.tex", 0, r"",
          after=mode_of("new.tex")),
        c("derive-output-keeps-mode", "derive --layers 1 --no-verify -o {tmp}/old.tex", 0, r"",
          files={"old.tex": "% old\n"}, after=mode_of("old.tex", 0o755)),
        c("derive-ok-text", "derive --layers 1 --format text", 0, r"dC"),
        c("derive-ok-json", "derive --widths 2,1 --format json", 0, r"\{"),
        c("derive-stdout-full", "derive --layers 1 --no-verify", 2, r"stdout|standard output|full",
          how="full"),
        c("derive-stdout-closed", "derive --layers 1 --no-verify", 2,
          r"stdout|standard output|closed", how="closed"),
        c("derive-broken-pipe", "derive --layers 3 --no-verify --format text", 141, r"^$",
          how="pipe"),
        # -- prove --------------------------------------------------------------------------------
        c("prove-no-claim", f"prove {W3}", 2, r"claim"),
        c("prove-no-wrt", args("prove --layers 3 --claim", SEED_W3), 2, r"wrt"),
        c("prove-wrt-unknown", args("prove --layers 3 --wrt", "q^(1)_jk", "--claim", "1"), 2,
          r"wrt"),
        c("prove-wrt-layer-too-big", args("prove --layers 3 --wrt", "w^(5)_jk", "--claim", "1"), 2,
          r"wrt|layer"),
        c("prove-wrt-layer-0", args("prove --layers 3 --wrt", "w^(0)_jk", "--claim", "1"), 2,
          r"wrt|layer"),
        c("prove-wrt-100kb", args("prove --layers 3 --wrt", "w" * 100_000, "--claim", "1"), 2,
          r"^.{1,500}$"),
        c("prove-claim-100kb", args(f"prove {W3} --claim", "a^(2)_k+" * 12_500 + "1"), (2, 3),
          r"claim|UNDECIDED"),
        c("prove-claim-unbalanced", args(f"prove {W3} --claim", "(a^(2)_k * (y_j"), 2,
          r"claim|parenthes"),
        c("prove-claim-deep-parens", args(f"prove {W3} --claim", "(" * 5000 + "1" + ")" * 5000),
          (2, 3), r"claim|nest|UNDECIDED"),
        c("prove-claim-code", args(f"prove {W3} --claim", "__import__('os').system('touch pwned')"),
          2, r"claim", after=absent("pwned")),
        c("prove-claim-lambda", args(f"prove {W3} --claim", "lambda: 1"), 2, r"claim"),
        c("prove-claim-unknown-symbol", args(f"prove {W3} --claim", "q_j * a^(2)_k"), 2, r"q"),
        c("prove-claim-unknown-function", args(f"prove {W3} --claim", "frobnicate(a^(2)_k)"), 2,
          r"frobnicate"),
        c("prove-claim-symbols-only", args(f"prove {W3} --claim", "∞∞∞"), 2, r"claim|∞"),
        c("prove-claim-empty", args(f"prove {W3} --claim", ""), 2, r"claim"),
        c("prove-claim-div0", f"prove {W3} --claim 1/0", (1, 2), r"REFUTED|claim"),
        c("prove-wrong", args(f"prove {W3} --claim", "a^(2)_k * (a^(3)_j - y_j)"), 1, r"REFUTED"),
        c("prove-right", args(f"prove {W3} --claim", SEED_W3), 0, r"PROVED"),
        c("prove-right-json", args(f"prove {W3} --claim", SEED_W3, "--json"), 0, r"PROVED"),
        c("prove-leaky-slope-div0",
          "prove --layers 1 --activation leaky_relu --leaky-slope 1/0 --wrt b^(1)_j --claim 1", 2,
          r"leaky-slope"),
        c("prove-points-0", args(f"prove {W3} --claim", SEED_W3, "--points", "0"), 2, r"--points"),
        c("prove-points-too-many", args(f"prove {W3} --claim", SEED_W3, "--points", "1001"), 2,
          r"--points"),
        c("prove-seed-negative", args(f"prove {W3} --claim", SEED_W3, "--seed", "-1"), (0, 2),
          r"PROVED|--seed"),
        c("prove-seed-huge", args(f"prove {W3} --claim", SEED_W3, "--seed", str(2**80)), (0, 2),
          r"PROVED|--seed"),
        c("prove-claim-file-missing", "prove --layers 3 --claim-file {tmp}/none.txt", 2,
          r"claim-file|does not exist"),
        c("prove-claim-file-dir", "prove --layers 3 --claim-file {tmp}", 2,
          r"claim-file|directory"),
        c("prove-claim-file-binary", "prove --layers 3 --claim-file {tmp}/c.txt", 2,
          r"binary|UTF-8|text", files={"c.txt": bytes(range(256)) * 4}),
        c("prove-claim-file-bad-line", "prove --layers 3 --claim-file {tmp}/c.txt", 2,
          r"line 2: BAD INPUT", files={"c.txt": f"w^(3)_jk: {SEED_W3}\nw^(3)_jk: (((\n"},
          where="out"),
        c("prove-claim-file-dev-null", "prove --layers 3 --claim-file /dev/null", 2, r"no claims"),
        c("prove-claim-file-ok", "prove --layers 3 --claim-file {tmp}/c.txt", 0, r"PROVED",
          files={"c.txt": f"# the seed\nw^(3)_jk: {SEED_W3}\n"}),
        c("prove-claim-file-unreadable", "prove --layers 3 --claim-file {tmp}/c.txt", 2,
          r"claim-file|permission|read", files={"c.txt": f"w^(3)_jk: {SEED_W3}\n"},
          unreadable="c.txt"),
        c("prove-claim-file-open-fails", "prove --layers 3 --claim-file {tmp}/c.txt", 2,
          r"--claim-file .*c.txt cannot be read \(Permission denied\)",
          files={"c.txt": f"w^(3)_jk: {SEED_W3}\n"}, unreadable="c.txt", access_allows=True),
        c("prove-claim-and-claim-file",
          args(f"prove {W3} --claim", SEED_W3, "--claim-file", "{tmp}/c.txt"), 2, r"claim",
          files={"c.txt": f"{SEED_W3}\n"}),
        c("prove-stdout-full", args(f"prove {W3} --claim", SEED_W3), 2,
          r"stdout|standard output|full", how="full slow"),
        c("prove-power-tower", args(f"{PROVE} {W3} --claim", TOWER), (2, 3),
          r"UNDECIDED|power", how="rss"),
        c("prove-tower-caret-chain", args(f"{PROVE} {W3} --claim", "9^9^9^9^9"), (1, 2, 3),
          r"UNDECIDED|REFUTED|exponent|'\^'"),
        c("prove-expansion-10x10", args(f"{PROVE} {W3} --claim", EXPANSION), (1, 2, 3),
          r"UNDECIDED|REFUTED|expan", how="rss"),
        c("prove-sigma-prime-20", args(f"{PROVE} --layers 1 --wrt z^(1)_j --claim", SIGMA20),
          (1, 2, 3), r"UNDECIDED|REFUTED|nest", how="rss"),
        c("prove-cross-entropy-correct-decides",
          args(f"{PROVE} --layers 3 --loss cross-entropy --wrt w^(2)_jk --claim", CE_CLAIM),
          (0, 3), r"PROVED|UNDECIDED"),
        # The budget itself: a correct claim given no time is UNDECIDED, saying why.
        c("prove-timeout-budget-undecided",
          args(f"prove --timeout 0.01 {W3} --claim", SEED_W3), 3,
          r"UNDECIDED.*\n.*budget \(--timeout 0.01\)", how="proc"),
        c("prove-claim-file-timeout-budget",
          "prove --timeout 0.01 --layers 3 --claim-file {tmp}/c.txt", 3, r"UNDECIDED",
          files={"c.txt": f"w^(3)_jk: {SEED_W3}\nb^(3)_j: {SEED_W3[10:]}\n"}, how="proc"),
        c("prove-leaky-slope-huge", f"{PROVE} --layers 1 --activation leaky_relu "
          "--leaky-slope 1e999999999 --wrt b^(1)_j --claim 1", (2, 3),
          r"leaky-slope|UNDECIDED", how="rss"),
        c("prove-layers-100000", f"{PROVE} --layers 100000 --wrt b^(1)_j --claim 1", 2,
          r"layers", how="rss"),
        c("prove-timeout-0-is-no-budget", args(f"prove {W3} --timeout 0 --claim", SEED_W3), 0,
          r"PROVED"),
        c("prove-timeout-negative", args(f"prove {W3} --timeout -1 --claim", SEED_W3), 2,
          NAMES_TIMEOUT),
        c("prove-timeout-nan", args(f"prove {W3} --timeout nan --claim", SEED_W3), 2,
          NAMES_TIMEOUT),
        c("prove-claim-file-empty", "prove --layers 3 --claim-file {tmp}/c.txt", 2, r"claim|empty",
          files={"c.txt": ""}),
        c("prove-claim-file-comments-only", "prove --layers 3 --claim-file {tmp}/c.txt", 2,
          r"claim|empty", files={"c.txt": "# nothing\n\n# here\n"}),
        c("prove-claim-file-dev-zero", f"{PROVE} --layers 3 --claim-file /dev/zero", (2, 3),
          r"claim-file|large|binary|long", how="rss"),
        # -- generate -----------------------------------------------------------------------------
        c("generate-layers-0", "generate --layers 0", 2, r"layers"),
        c("generate-layers-100000", "generate --layers 100000", 2, r"layers", how="rss"),
        c("generate-symbolic-widths", "generate --layers 2", (0, 2), r"widths|def "),
        c("generate-widths-20001", args("generate --widths", WIDTHS_20001), 2, r"widths|layers",
          how="rss"),
        c("generate-widths-4000-digits", args("generate --widths", f"{WIDTH_4000},1"), 2,
          r"widths"),
        c("generate-widths-huge", "generate --widths 1000000000,1000000000,1", (0, 2),
          r"widths|def "),
        c("generate-softmax-ce-one-output",
          "generate --widths 2,3,1 --loss softmax-cross-entropy -o {tmp}/g.py", 2,
          r"at least 2 outputs.*last width 2", after=absent("g.py")),
        c("generate-softmax-ce",
          "generate --widths 2,3,2 --loss softmax-cross-entropy -o {tmp}/g.py", 0, r"",
          after=parses("g.py")),
        c("generate-leaky-slope-div0",
          "generate --widths 2,1 --activation leaky_relu --leaky-slope 1/0", 2, r"leaky-slope"),
        c("generate-leaky-slope-huge",
          "generate --widths 2,1 --activation leaky_relu --leaky-slope 1e999999999", 2,
          r"leaky-slope", how="rss"),
        c("generate-leaky-slope-inf",
          "generate --widths 2,1 --activation leaky_relu --leaky-slope oo", 2, r"leaky-slope"),
        c("generate-activation-count", "generate --widths 2,3,1 --activation tanh,tanh,tanh", 2,
          r"activation"),
        c("generate-activation-empty", args("generate --widths 2,1 --activation", ""), 2,
          r"activation"),
        c("generate-output-read-only", args("generate --widths 2,1 -o", f"{READ_ONLY_DIR}/g.py"), 2,
          r"cannot write|permission|read-only"),
        c("generate-output-missing-dir", "generate --widths 2,1 -o {tmp}/a/b/g.py", 2,
          r"does not exist"),
        c("generate-output-is-dir", "generate --widths 2,1 -o {tmp}", 2, r"directory"),
        c("generate-output-new-file-mode", "generate --widths 2,1 -o {tmp}/g.py", 0, r"",
          after=mode_of("g.py")),
        c("generate-output-keeps-mode", "generate --widths 2,1 -o {tmp}/old.py", 0, r"",
          files={"old.py": "# old\n"}, after=mode_of("old.py", 0o755)),
        c("generate-output-dev-full", "generate --widths 2,1 -o /dev/full", 2,
          r"full|cannot write|/dev/full", how="proc"),
        c("generate-stdout-full", "generate --widths 2,1", 2, r"stdout|standard output|full",
          how="full"),
        c("generate-stdout-closed", "generate --widths 2,1", 2, r"stdout|standard output|closed",
          how="closed slow"),
        c("generate-broken-pipe", "generate --widths 2,8,8,8,1", 141, r"^$", how="pipe slow"),
        c("generate-ok", "generate --widths 2,3,1", 0, r"def gradients"),
        c("generate-unknown-option", "generate --width 2,1", 2, r"No such option"),
        # -- train --------------------------------------------------------------------------------
        c("train-no-data", "train", 2, r"--data"),
        c("train-data-unknown", "train --data mnist", 2, r"data|mnist"),
        c("train-data-missing-file", "train --data {tmp}/none.csv", 2, r"none.csv|exist"),
        c("train-data-dir", "train --data {tmp}/d.csv", 2, r"d.csv|directory",
          files={"d.csv/x": "1"}),
        c("train-data-dev-zero", "train --data /dev/zero --hidden 2", 2, r"/dev/zero", how="rss"),
        c("train-csv-empty", "train --data {tmp}/e.csv --hidden 2", 2, r"e.csv|empty",
          files={"e.csv": ""}),
        c("train-csv-header-only", "train --data {tmp}/h.csv --hidden 2", 2, r"h.csv|rows|no",
          files={"h.csv": "x1,x2,y\n"}),
        c("train-csv-no-header", "train --data {tmp}/n.csv --hidden 2", 2,
          r"^(?!.*repeats).*(header|n\.csv)", files={"n.csv": "0,0,0\n0,1,1\n1,0,1\n1,1,0\n"}),
        c("train-csv-text-values", "train --data {tmp}/t.csv --hidden 2", 2, r"t.csv",
          files={"t.csv": "x1,y\na,b\nc,d\n"}),
        c("train-csv-nan", "train --data {tmp}/nan.csv --hidden 2", 2, r"nan.csv|NaN|finite",
          files={"nan.csv": "x1,y\nnan,1\n1,0\n"}),
        c("train-csv-ragged", "train --data {tmp}/r.csv --hidden 2", 2, r"r.csv",
          files={"r.csv": "x1,x2,y\n0,0\n0,1,1,1\n"}),
        c("train-csv-binary", "train --data {tmp}/b.csv --hidden 2", 2, r"b.csv",
          files={"b.csv": bytes(range(256)) * 8}),
        c("train-csv-target-unknown", "train --data {tmp}/x.csv --hidden 2 --target label", 2,
          r"--target|label", files={"x.csv": XOR_CSV}),
        c("train-csv-ok", "train --data {tmp}/x.csv --hidden 2 --epochs 1", 0, r"",
          files={"x.csv": XOR_CSV}),
        c("train-csv-unreadable", "train --data {tmp}/x.csv --hidden 2", 2,
          r"x.csv.*(permission|read)|(permission|read).*x.csv", files={"x.csv": XOR_CSV},
          unreadable="x.csv"),
        c("train-csv-open-fails", "train --data {tmp}/x.csv --hidden 2", 2,
          r"x.csv.*(permission|read)|(permission|read).*x.csv", files={"x.csv": XOR_CSV},
          unreadable="x.csv", access_allows=True),
        c("train-npz-is-text", "train --data {tmp}/t.npz --hidden 2", 2, r"t.npz.*(npz|NumPy|zip)",
          files={"t.npz": "x1,y\n1,0\n"}),
        c("train-npz-no-arrays", "train --data {tmp}/e.npz --hidden 2", 2, r"e.npz",
          files={"e.npz": npz_bytes()}),
        c("train-npz-object-array", "train --data {tmp}/o.npz --hidden 2", 2, r"o.npz",
          files={"o.npz": npz_bytes(X=np.array([{"a": 1}], dtype=object), y=np.zeros(1))}),
        c("train-samples-billion", "train --data moons --samples 1000000000", 2, r"samples|memory",
          how="rss"),
        c("train-samples-0", "train --data moons --samples 0", 2, r"sample count"),
        c("train-samples-negative", "train --data moons --samples -5", 2, r"sample count"),
        c("train-hidden-billion", "train --data xor --hidden 1000000000", 2,
          r"--hidden: a width of 1000000000 is more than",
          how="rss"),
        c("train-parameters-10-billion", "train --data xor --hidden 100000,100000 --epochs 1", 2,
          r"weights and biases.*BPVERIFY_MAX_PARAMETERS", how="rss"),
        c("train-memory-limit-env-nan", "train --data xor --epochs 1", 2, r"BPVERIFY_MAX_MEMORY",
          env={"BPVERIFY_MAX_MEMORY": "nan"}),
        c("train-hidden-text", "train --data xor --hidden wide", 2, r"wide"),
        c("train-hidden-zero", "train --data xor --hidden 0", 2, r"hidden|width"),
        c("train-noise-negative", "train --data moons --noise -1", 2, r"noise"),
        c("train-noise-nan", "train --data moons --noise nan", 2, r"noise"),
        c("train-test-fraction-big", "train --data moons --test-fraction 1.5", 2, r"test.fraction"),
        c("train-test-fraction-nan", "train --data moons --test-fraction nan", 2, r"test.fraction"),
        c("train-lr-nan", "train --data xor --lr nan", 2, r"\blr\b"),
        c("train-lr-negative", "train --data xor --lr -1", 2, r"\blr\b"),
        c("train-lr-inf", "train --data xor --lr inf", 2, r"\blr\b"),
        c("train-epochs-negative", "train --data xor --epochs -1", 2, r"--epochs"),
        c("train-seed-negative", "train --data xor --seed -1", 2, r"--seed"),
        c("train-batch-size-negative", "train --data xor --batch-size -1", 2, r"--batch-size"),
        c("train-check-every-0", "train --data xor --check-every 0", 2, r"--check-every"),
        c("train-dtype-float16", "train --data xor --dtype float16", 2, r"--dtype"),
        c("train-optimizer-unknown", "train --data xor --optimizer lbfgs", 2, r"--optimizer"),
        c("train-plot-svg-is-svg", "train --data xor --epochs 2 --plot {tmp}/loss.svg", 0, r"",
          after=is_svg("loss.svg")),
        c("train-plot-suffix", "train --data xor --plot {tmp}/loss.txt", 2, r"plot|suffix|png"),
        c("train-plot-read-only", args("train --data xor --plot", f"{READ_ONLY_DIR}/loss.png"), 2,
          r"cannot write|permission|read-only"),
        c("train-save-read-only", args("train --data xor --save", f"{READ_ONLY_DIR}/m.npz"), 2,
          r"cannot write|permission|read-only"),
        c("train-save-and-plot-one-path", "train --data xor --save {tmp}/m.png --plot {tmp}/m.png",
          2, r"both write|same"),
        c("train-load-missing", "train --data xor --load {tmp}/none.npz", 2, r"none.npz"),
        c("train-load-text", "train --data xor --load {tmp}/m.npz", 2, r"m.npz",
          files={"m.npz": "not a model\n"}),
        c("train-load-empty-npz", "train --data xor --load {tmp}/m.npz", 2, r"m.npz",
          files={"m.npz": npz_bytes()}),
        c("train-load-with-widths", "train --data xor --load {tmp}/m.npz --widths 2,9,1", 2,
          r"--widths.*--load|--load.*--widths",
          files={"m.npz": lambda t: saved_model(t, lambda a: None)}),
        c("train-load-with-activation", "train --data xor --load {tmp}/m.npz --activation relu", 2,
          r"--activation.*--load|--load.*--activation",
          files={"m.npz": lambda t: saved_model(t, lambda a: None)}),
        c("train-load-bad-rng", "train --data xor --load {tmp}/m.npz --epochs 1", 2, r"m.npz|rng",
          files={"m.npz": lambda t: saved_model(t, _bad_rng)}),
        c("train-load-nan-weights", "train --data xor --load {tmp}/m.npz --epochs 1", 2,
          r"^(?!.*--lr).*(m.npz|NaN|finite)",
          files={"m.npz": lambda t: saved_model(t, _nan_weights)}),
        c("train-softmax-ce", "train --data xor --epochs 1 --loss softmax-cross-entropy", (0, 1, 2),
          r"softmax|output|"),
        c("train-cross-entropy-tanh",
          "train --data xor --epochs 1 --loss cross-entropy --activation tanh", 2,
          r"cross-entropy.*tanh"),
        c("derive-cross-entropy-tanh", "derive --layers 1 --loss cross-entropy --activation tanh",
          2, r"cross-entropy.*tanh"),
        c("generate-cross-entropy-tanh",
          "generate --widths 2,1 --loss cross-entropy --activation tanh", 2,
          r"cross-entropy.*tanh"),
        c("prove-cross-entropy-tanh",
          "prove --layers 1 --loss cross-entropy --activation tanh --wrt b^(1)_j --claim 1", 2,
          r"cross-entropy.*tanh"),
        c("train-ok", "train --data xor --epochs 1", 0, r""),
        c("train-stdout-full", "train --data xor --epochs 1", 2,
          r"standard output.*No space left", how="full", where="last"),
        # -- check --------------------------------------------------------------------------------
        c("check-ok", CHECK, 0, r"PASS"),
        # a softmax of one output is constant: every exact gradient is 0, and a finite
        # difference's rounding residue (1e-17) would fail correct code; refused instead
        c("check-softmax-ce-one-output", "check --widths 2,3,1 --loss softmax-cross-entropy", 2,
          r"at least 2 outputs.*last width 2"),
        c("check-user-ok", **user_check(GOOD_BODY + "\nreturn g", 0, r"PASS")),
        c("check-user-sys-exit-0", **user_check("sys.exit(0)", 1, r"problem: .*sys.exit\(0\)")),
        c("check-user-sys-exit-3", **user_check("sys.exit(3)", 1, r"problem: .*sys.exit\(3\)")),
        c("check-user-raise-systemexit",
          **user_check("raise SystemExit", 1, r"problem: .*sys.exit")),
        c("check-user-os-exit-0", **user_check("os._exit(0)", 1, r"problem: .*os._exit\(0\)"),
          how="proc"),
        c("check-user-os-exit-in-process",
          **user_check("os._exit(0)", 1, r"problem: .*os._exit\(0\)")),
        c("check-user-import-exit-5", **user_check("return {}", 1,
          r"problem: importing user.py .*sys.exit\(5\)", top="sys.exit(5)")),
        c("check-user-import-exit-0", **user_check("return {}", 1,
          r"problem: importing user.py .*sys.exit\(0\)", top="sys.exit(0)")),
        c("check-user-loop",
          **user_check("while True:\n    pass", 1, r"problem: .*time limit of 2 s")),
        c("check-user-sleep", **user_check("time.sleep(3600)", 1, r"problem: .*time limit of 2 s")),
        c("check-user-import-loop", **user_check("return {}", 1,
          r"problem: importing user.py ran past", top="while True:\n    pass")),
        c("check-user-memory-bomb", **user_check(
          "blocks = []\nwhile True:\n    blocks.append(np.ones(2**24))", 1,
          # the memory cap must stop it, not the time budget: 60 s, as a loaded machine
          # may take more than 2 s to fill half a gigabyte
          r"problem: .*MemoryError", extra=["--memory-limit", "0.5"], timeout="60"), how="rss"),
        c("check-user-interrupted", args(f"check {NET1} --timeout 60 --grad-fn", USER), 130,
          r"interrupted", files={"user.py": RAN_MARKER + grad_fn("time.sleep(3600)")},
          how="sigint"),
        c("check-user-kill-self",
          **user_check("os.kill(os.getpid(), 9)", 1, r"problem: .*SIGKILL")),
        c("check-user-segfault",
          **user_check("import ctypes\nctypes.string_at(0)", 1, r"problem: .*SIG")),
        c("check-user-raises",
          **user_check("raise ValueError('nope')", 1, r"problem: .*ValueError")),
        c("check-user-returns-none", **user_check("return None", 1, r"problem: ")),
        c("check-user-returns-list", **user_check("return [1, 2]", 1, r"problem: ")),
        c("check-user-missing-key", **user_check(GOOD_BODY + "\ndel g['b1']\nreturn g", 1, r"b1")),
        c("check-user-wrong-shape",
          **user_check(GOOD_BODY + "\ng['W1'] = g['W1'].T\nreturn g", 1, r"W1")),
        c("check-user-complex", **user_check(
          GOOD_BODY + "\nreturn {k: v + 0j for k, v in g.items()}", 1, r"problem: .*complex")),
        c("check-user-array-raises", **user_check(
          GOOD_BODY + "\nreturn {k: Evil() for k in g}", 1, r"problem: ", top=BAD_ARRAY)),
        c("check-user-nan",
          **user_check(GOOD_BODY + "\nreturn {k: v * np.nan for k, v in g.items()}", 1, r"FAIL")),
        c("check-user-chatty-passes",
          **user_check("print('x' * 10**6)\n" + GOOD_BODY + "\nreturn g", 0, r"PASS")),
        c("check-user-mutates-params",
          **user_check("params.clear()\nreturn {}", 1, r"FAIL|problem")),
        c("check-user-syntax-error", args(f"check {NET1} --grad-fn", USER), 1,
          r"problem: .*SyntaxError", files={"user.py": "def grads(:\n"}),
        c("check-grad-fn-missing-file", f"check {NET1} --grad-fn {{tmp}}/none.py:grads", 2,
          r"--grad-fn|none.py"),
        c("check-grad-fn-directory", f"check {NET1} --grad-fn {{tmp}}/d.py:grads", 2, r"d.py",
          files={"d.py/x": ""}),
        c("check-grad-fn-missing-function", f"check {NET1} --grad-fn {{tmp}}/user.py:nope", 2,
          r"nope", files={"user.py": GOOD_GRADS}),
        c("check-grad-fn-no-colon", f"check {NET1} --grad-fn {{tmp}}/user.py", 2,
          r"--grad-fn|FUNCTION", files={"user.py": GOOD_GRADS}),
        c("check-grad-fn-binary", args(f"check {NET1} --grad-fn", USER), (1, 2), r"problem|user.py",
          files={"user.py": bytes(range(256))}),
        c("check-rtol-nan", f"check {NET1} --rtol nan", 2, r"--rtol"),
        c("check-rtol-negative", f"check {NET1} --rtol -1", 2, r"--rtol"),
        c("check-atol-negative", f"check {NET1} --atol -1", 2, r"--atol"),
        c("check-atol-inf", f"check {NET1} --atol inf", 2, r"--atol"),
        c("check-config-open-fails", "check --config {tmp}/bpverify.toml", 2,
          r"bpverify.toml.*(permission|read)",
          files={"bpverify.toml": "[[check]]\nwidths = [2, 1]\n"},
          unreadable="bpverify.toml", access_allows=True),
        c("check-config-rtol-nan", "check --config {tmp}/bpverify.toml", 2, r"rtol",
          files={"bpverify.toml": "[[check]]\nwidths = [2, 1]\npoints = 1\nrtol = nan\n"}),
        c("check-config-rtol-negative", "check --config {tmp}/bpverify.toml", 2, r"rtol",
          files={"bpverify.toml": "[[check]]\nwidths = [2, 1]\npoints = 1\nrtol = -1.0\n"}),
        c("check-config-nested-3000", "check --config {tmp}/bpverify.toml", 2,
          r"bpverify.toml.*(nest|deep|TOML)", files={"bpverify.toml": nested_toml(3000)}),
        c("check-pyproject-nested-3000", "check", 2, r"pyproject.toml",
          files={"pyproject.toml": "[tool.bpverify]\n" + nested_toml(3000)}),
        c("check-config-not-toml", "check --config {tmp}/bpverify.toml", 2, r"TOML",
          files={"bpverify.toml": "widths: [2, 1]\n"}),
        c("check-config-binary", "check --config {tmp}/bpverify.toml", 2, r"bpverify.toml",
          files={"bpverify.toml": bytes(range(256))}),
        c("check-config-dev-zero", "check --config /dev/zero", 2,
          r"'/dev/zero' is not a regular file", how="rss"),
        c("check-config-dev-null", "check --config /dev/null", 2, r"'/dev/null' is not a regular"),
        c("check-config-missing", "check --config {tmp}/none.toml", 2, r"none.toml|--config"),
        c("check-config-unknown-key", "check --config {tmp}/bpverify.toml", 2, r"colour",
          files={"bpverify.toml": "[[check]]\nwidths = [2, 1]\ncolour = 1\n"}),
        c("check-config-widths-string", "check --config {tmp}/bpverify.toml", 2, r"widths",
          files={"bpverify.toml": '[[check]]\nwidths = "lots"\n'}),
        c("check-widths-skip-config-here", f"check {NET1} --activation tanh", 0, r"tanh",
          files={"bpverify.toml": '[[check]]\nwidths = [2, 1]\nactivation = "relu"\n'}),
        c("check-flag-beats-config-grad-fn", "check --timeout 60 --grad-fn user.py:grads", 0,
          r"PASS", files={"user.py": GOOD_GRADS + WRONG_GRADS, "bpverify.toml": CONFIG_WRONG}),
        c("check-config-grad-fn-used", "check --timeout 60", 1, r"FAIL",
          files={"user.py": GOOD_GRADS + WRONG_GRADS, "bpverify.toml": CONFIG_WRONG}),
        c("check-flag-beats-bad-config-value", "check --points 1", 0, r"PASS",
          files={"bpverify.toml": "[[check]]\nwidths = [2, 1]\npoints = 0\n"}),
        c("check-config-and-widths", "check --config {tmp}/c.toml --widths 2,1", 2,
          r"--config", files={"c.toml": "[[check]]\nwidths = [2, 1]\n"}),
        c("check-no-network", "check", 2, r"no network"),
        c("check-widths-billion", "check --widths 1000000000,1 --points 1", 2, r"widths|memory",
          how="rss"),
        c("check-batch-billion", "check --widths 2,1 --points 1 --batch 1000000000", 2,
          r"batch|memory", how="rss"),
        c("check-parameters-billion", "check --widths 1000000,1000,1 --points 1", 2,
          r"weights and biases.*BPVERIFY_MAX_PARAMETERS", how="rss"),
        c("check-batch-0", "check --widths 2,1 --batch 0", 2, r"batch"),
        c("check-points-0", "check --widths 2,1 --points 0", 2, r"points"),
        c("check-points-negative", "check --widths 2,1 --points -4", 2, r"points"),
        c("check-sample-negative", f"{CHECK} --sample -1", 2, r"sample"),
        c("check-seed-negative", f"{CHECK} --seed -1", 2, r"--seed"),
        c("check-timeout-0", f"{CHECK} --timeout 0", 2, NAMES_TIMEOUT),
        c("check-timeout-nan", f"{CHECK} --timeout nan", 2, NAMES_TIMEOUT),
        c("check-memory-limit-negative", f"{CHECK} --memory-limit -1", 2, r"--memory-limit"),
        c("check-layers-100000", "check --layers 100000", 2, r"layers|widths"),
        c("check-symbolic-widths", "check --layers 2", 2, r"widths"),
        c("check-unrolled-large", "check --widths 50,50,50,1 --unrolled", 2, r"unrolled"),
        c("check-complex-on-relu", f"{CHECK} --activation relu --method complex", 2, r"complex"),
        c("check-cross-entropy-tanh", f"{CHECK} --activation tanh --loss cross-entropy", 2,
          r"cross-entropy.*tanh"),
        c("check-json-read-only", args(f"{CHECK} --json", f"{READ_ONLY_DIR}/r.json"), 2,
          r"cannot write|permission|read-only"),
        c("check-junit-read-only", args(f"{CHECK} --junit", f"{READ_ONLY_DIR}/r.xml"), 2,
          r"cannot write|permission|read-only"),
        # Refused before the check starts: the module, imported first thing by a run, never is.
        c("check-json-read-only-before-run",
          args(f"check {NET1} --grad-fn", USER, "--json", f"{READ_ONLY_DIR}/r.json"),
          2, r"--json", files={"user.py": RAN_MARKER + GOOD_GRADS}, after=absent("ran")),
        c("check-json-and-junit-one-path", f"{CHECK} --json {{tmp}}/r.out --junit {{tmp}}/r.out", 2,
          r"both write"),
        c("check-json-keeps-old-on-bad-input", f"{CHECK} --rtol nan --json {{tmp}}/r.json", 2,
          r"--rtol", files={"r.json": "{}"}, after=untouched("r.json", "{}")),
        c("check-json-dev-full", f"{CHECK} --json /dev/full", 2, r"full|cannot write|/dev/full",
          how="proc"),
        c("check-stdout-full", f"{CHECK}", 2, r"stdout|standard output|full", how="full slow"),
        c("check-broken-pipe", f"{CHECK}", (0, 141), r"", how="pipe slow"),
        # check --function: the forward and the backward are the user's code, in the worker
        c("function-ok", f"{FUNCTION} --timeout 60", 0, r"PASS", files=LAYER_FILE),
        c("function-grad-loop", function("backward", "loops", "--timeout 2"), 1,
          r"problem: the gradient function ran past the time limit of 2 s", files=LAYER_FILE),
        c("function-grad-sys-exit-0", function("backward", "exits", "--timeout 5"), 1,
          r"problem: .*sys.exit\(0\)", files=LAYER_FILE),
        c("function-grad-os-exit-0", function("backward", "ends", "--timeout 5"), 1,
          r"problem: .*os._exit\(0\)", files=LAYER_FILE, how="proc"),
        c("function-forward-import-exit-5",
          function("layer.py:forward", "exits.py:forward", "--timeout 5"), 1,
          r"problem: importing exits.py called sys.exit\(5\)",
          files={**LAYER_FILE, "exits.py": "import sys\nsys.exit(5)\n"}),
        c("function-uncovered-call",
          function("forward", "arctan", "--timeout 60").replace(":backward", ":darctan"), 0,
          r"does not cover np.arctan", files=LAYER_FILE),
        c("function-no-grad-fn", "check --function {tmp}/layer.py:forward --input x=3", 2,
          r"--grad-fn", files=LAYER_FILE),
        c("function-no-inputs", FUNCTION.removesuffix(" --input x=3"), 2, r"--input",
          files=LAYER_FILE),
        c("function-input-bad-shape", f"{FUNCTION} --input y=3x-1", 2, r"--input y",
          files=LAYER_FILE),
        c("function-input-huge", f"{FUNCTION} --input y=100000x100000", 2, r"entries|MiB",
          files=LAYER_FILE, how="rss"),
        c("function-input-twice", f"{FUNCTION} --input x=4", 2, r"given twice", files=LAYER_FILE),
        c("function-wrt-unknown", f"{FUNCTION} --wrt z", 2, r"--wrt 'z'", files=LAYER_FILE),
        c("function-wrt-labels", f"{FUNCTION} --input labels=3:int2 --wrt labels", 2,
          r"whole-number", files=LAYER_FILE),
        c("function-with-widths", f"{FUNCTION} --widths 2,1", 2, r"--widths: not for --function",
          files=LAYER_FILE),
        c("function-missing-file",
          "check --function {tmp}/none.py:f --grad-fn {tmp}/none.py:g --input x=3", 2,
          r"--function: no file"),
        c("function-missing-function", function("forward", "nope"), 2,
          r"--function: .* defines no function 'nope'", files=LAYER_FILE),
        c("function-inputs-missing", f"{FUNCTION} --inputs {{tmp}}/none.npz", 2,
          r"--inputs: no file", files=LAYER_FILE),
        c("function-inputs-nan", f"{FUNCTION} --inputs {{tmp}}/in.npz", 2, r"NaN",
          files={**LAYER_FILE, "in.npz": npz_bytes(y=np.array([np.nan]))}),
        c("function-inputs-text", f"{FUNCTION} --inputs {{tmp}}/in.npz", 2,
          r"not a readable .npz", files={**LAYER_FILE, "in.npz": "hello"}),
        c("function-wrt-without-function", f"{CHECK} --wrt x", 2, r"--wrt: only with --function"),
        c("function-json-read-only", f"{FUNCTION} --json {READ_ONLY_DIR}/r.json", 2, r"--json",
          files=LAYER_FILE),
    ]
    # fmt: on
    return rows


CASES = _rows()


# -- running a row ---------------------------------------------------------------------------------

RUNNER = r"""
import json, os, resource, signal, subprocess, sys, time
spec = json.loads(sys.argv[1])
kw = dict(cwd=spec["cwd"], env=spec["env"], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
mode = spec["stdout"]
out = b""
if mode == "full":
    with open("/dev/full", "wb") as full:
        r = subprocess.run(spec["argv"], stdout=full, **kw)
    rc, err = r.returncode, r.stderr
elif mode == "closed":
    r = subprocess.run(spec["argv"], preexec_fn=lambda: os.close(1), **kw)
    rc, err = r.returncode, r.stderr
elif mode == "sigint":
    # Ctrl-C once the user's module has been imported (it leaves the file "ran" behind).
    p = subprocess.Popen(spec["argv"], stdout=subprocess.PIPE, **kw)
    ran = os.path.join(spec["cwd"], "ran")
    for _ in range(600):
        if os.path.exists(ran) or p.poll() is not None:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate()
    rc = p.returncode
elif mode == "pipe":
    p = subprocess.Popen(spec["argv"], stdout=subprocess.PIPE, **kw)
    p.stdout.close()  # the reader goes away before the first line
    err = p.stderr.read()
    rc = p.wait()
else:
    r = subprocess.run(spec["argv"], stdout=subprocess.PIPE, **kw)
    rc, out, err = r.returncode, r.stdout, r.stderr
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
text = {"out": out.decode(errors="replace"), "err": err.decode(errors="replace")}
print(json.dumps({"rc": rc, "rss": rss, **text}))
"""


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    rss_kb: int | None = None


def _make_files(case: Case, tmp: Path) -> None:
    for name, content in case.files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content = content(tmp)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        if name.startswith("old."):
            path.chmod(0o755)  # an existing file whose mode the write must keep


def _argv(case: Case, tmp: Path) -> list[str]:
    argv = case.argv.split() if isinstance(case.argv, str) else case.argv
    return [a.replace("{tmp}", str(tmp)) for a in argv]


def _in_process(case: Case, tmp: Path, monkeypatch) -> Outcome:
    if case.unreadable:
        _deny_reading(tmp / case.unreadable, monkeypatch, case.access_allows)
    r = CliRunner().invoke(main, _argv(case, tmp), env=case.env or None)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return Outcome(r.exit_code, r.stdout, r.stderr)


def _deny_reading(path: Path, monkeypatch, access_allows: bool = False) -> None:
    """Make opening ``path`` fail as a mode-000 file does for anyone but root (the tests may
    run as root, who reads it anyway): every way Python opens a file goes through these.
    ``os.access`` says so too, unless ``access_allows``."""
    path.chmod(0)
    denied = os.path.realpath(path)

    def guard(opener):
        def opened(file, *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)) and os.path.realpath(file) == denied:
                raise PermissionError(13, "Permission denied", os.fsdecode(file))
            return opener(file, *args, **kwargs)

        return opened

    monkeypatch.setattr(builtins, "open", guard(builtins.open))
    monkeypatch.setattr(io, "open", guard(io.open))
    monkeypatch.setattr(os, "open", guard(os.open))
    if access_allows:
        return
    real_access = os.access

    def access(file, mode, *args, **kwargs):
        if os.path.realpath(file) == denied and mode & (os.R_OK | os.W_OK | os.X_OK):
            return False
        return real_access(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def _in_a_process(case: Case, tmp: Path) -> Outcome:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update(case.env)
    env["HOME"] = str(tmp)
    env["MPLCONFIGDIR"] = str(tmp / ".mpl")
    argv = [BPVERIFY, *_argv(case, tmp)]
    spec = {"argv": argv, "cwd": str(tmp), "env": env, "stdout": case.stdout}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=300,  # a safety net for a hang, not a measured time
        preexec_fn=_memory_guard,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    return Outcome(result["rc"], result["out"], result["err"], result["rss"])


def _memory_guard() -> None:
    # A safety net while a memory defect is unfixed: past 6 GB of address space the bomb fails
    # with MemoryError (a failing test) instead of taking the machine; the 1 GB bound is asserted
    # from the peak RSS. Only the soft limit, so a worker may still set its own.
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, hard))


KEPT = {
    "check-user-loop",
    "check-user-sys-exit-0",
    "check-user-os-exit-0",
    "check-user-memory-bomb",
    "function-ok",
    "function-grad-loop",
    "function-grad-os-exit-0",
    "prove-power-tower",
    "derive-stdout-full",
    "train-samples-billion",
}
"""The rows that start a process (of their own, or a worker for the user's code) run in the
default suite only if they are named here, one of each kind; the rest, a second or more each,
run under the slow marker, which ``.ci/run`` runs too."""


def _heavy(case: Case) -> bool:
    words = case.argv.split() if isinstance(case.argv, str) else case.argv
    return case.proc or any(w in ("--grad-fn", "--function") for w in words)


def _params():
    for case in CASES:
        slow = "slow" in case.how.split() or (_heavy(case) and case.id not in KEPT)
        yield pytest.param(case, id=case.id, marks=[pytest.mark.slow] if slow else [])


def test_the_corpus_is_large_and_its_ids_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 150


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", list(_params()))
def test_hostile_input(case: Case, tmp_path, monkeypatch):
    if any(a.startswith(READ_ONLY_DIR) for a in _argv(case, tmp_path)):
        probe = Path(READ_ONLY_DIR) / ".bpverify-probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.skip(f"{READ_ONLY_DIR} is writable here")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BPVERIFY_DEBUG", raising=False)
    _make_files(case, tmp_path)
    got = _in_a_process(case, tmp_path) if case.proc else _in_process(case, tmp_path, monkeypatch)
    allowed = case.code if isinstance(case.code, tuple) else (case.code,)
    shown = f"exit {got.code}\n--- stdout\n{got.stdout[-3000:]}\n--- stderr\n{got.stderr[-3000:]}"
    assert got.code in allowed, shown
    assert "Traceback" not in got.stdout + got.stderr, shown
    assert "internal error" not in got.stderr, shown
    lines = got.stderr.strip().splitlines()
    if got.code == 2 and case.where in ("err", "last"):
        assert len(lines) == (2 if case.where == "last" else 1), shown
        lines = lines[-1:]
        assert "No such option" not in lines[0] or "No such option" in case.pattern, shown
        assert re.search(case.pattern, lines[0], re.IGNORECASE), shown
    else:
        assert re.search(case.pattern, got.stdout + got.stderr, re.IGNORECASE | re.MULTILINE), shown
    if "rss" in case.how.split():
        assert got.rss_kb is not None and got.rss_kb < ONE_GB_KB, (
            f"peak RSS {got.rss_kb} KiB\n{shown}"
        )
    if case.after:
        case.after(tmp_path)
