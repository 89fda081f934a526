"""The exit codes of ``bpverify``, in one place: the library reports outcomes, the CLI maps them.

=====  =================================================================================
code   meaning
=====  =================================================================================
0      pass: the check passed, the rules verified, training finished; prove: PROVED
1      fail: a comparison or rule failed, training diverged or its check failed; REFUTED
2      bad input or usage (an ``InputError`` or a click usage error): one line on stderr
3      prove: UNDECIDED
4      internal error: an unexpected exception, one line (``--debug`` for the traceback)
130    interrupted (Ctrl-C)
141    the reader of standard output went away (``| head``): quietly, as after SIGPIPE
=====  =================================================================================
"""

from __future__ import annotations

from collections.abc import Iterable

PASS = 0
FAIL = 1
BAD_INPUT = 2
UNDECIDED = 3
INTERNAL_ERROR = 4
INTERRUPTED = 130
BROKEN_PIPE = 128 + 13  # SIGPIPE, as the shell reports a tool it killed

VERDICTS = {"PROVED": PASS, "REFUTED": FAIL, "UNDECIDED": UNDECIDED}
"""The exit code of each ``prove`` verdict status."""

SEVERITY = (PASS, UNDECIDED, FAIL, BAD_INPUT)
"""From least to most severe: the code of several outcomes (a claim file) is the worst one."""


def passed(ok: bool) -> int:
    """PASS or FAIL."""
    return PASS if ok else FAIL


def worst(codes: Iterable[int]) -> int:
    """The most severe of ``codes`` by ``SEVERITY`` (PASS when there are none)."""
    return max(codes, key=SEVERITY.index, default=PASS)
