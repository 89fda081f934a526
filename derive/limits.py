"""The size limits of every symbolic job in one table: what each bounds, its value, how to raise it.

A job is refused before it starts when its input is larger than a limit, so that nothing runs
for hours or fills the memory on a typo (``--layers 100000``) or on hostile input (a claim
``((9^10)^10)^10...``). Each row names what it bounds and the environment variable that raises
it, ``BPVERIFY_MAX_<NAME>`` (``BPVERIFY_MAX_LAYERS=5000 bpverify derive --layers 2000``).

==================  ===========  ==============================================================
limit               default      what it bounds
==================  ===========  ==============================================================
layers              1000         weight layers L of a network
width               1000000      units n_l of one layer
parameters          100000000    weights and biases of a network with concrete widths
claim_length        2000         characters of one claim
claim_depth         50           nesting of brackets in a claim
claim_calls         10           nesting of sigma(...) and sigma'(...) in a claim
exponent            10           |exponent| of one power in a claim
power               100          product of the exponents of powers of powers, (x^10)^10
number_digits       100          digits of one number written in a claim
terms               10000        terms of a claim written out (expanded) for the symbolic proof
probe_parameters    10000        parameters of a network the counterexample search evaluates
claim_file_bytes    1000000      bytes of a --claim-file
claim_file_claims   500          claims in a --claim-file
slope_digits        30           significant digits and |decimal exponent| of --leaky-slope
memory              4096         MiB of memory a budgeted job (prove, derive, generate) may take
                                 beyond what its process starts with; check and train estimate
                                 theirs first (numeric.memory)
==================  ===========  ==============================================================

Two limits do not refuse but skip a part of ``prove``: a claim beyond ``terms`` is not tried
symbolically, only searched for a counterexample (so it is refuted or left UNDECIDED, never
proved); a network with concrete widths beyond ``probe_parameters`` is not searched (so a
claim about it is proved or left UNDECIDED). The wall-clock budget of a job is its command's
``--timeout`` option, not a row here.

Example:
    >>> LIMITS["layers"].value()
    1000
    >>> try:
    ...     check("layers", 100000, "--layers 100000")
    ... except LimitError as e:
    ...     print(e)
    --layers 100000 is more than the 1000 accepted: raise the limit with BPVERIFY_MAX_LAYERS=N
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import InputError


class LimitError(InputError):
    """Input larger than a limit of ``LIMITS``; the message names the limit and how to raise it."""


@dataclass(frozen=True)
class Limit:
    """One row of the table: the limit ``name``, its ``default`` and what it bounds."""

    name: str
    default: int
    bounds: str

    @property
    def env(self) -> str:
        """The environment variable that overrides the default."""
        return f"BPVERIFY_MAX_{self.name.upper()}"

    def value(self) -> int:
        """The limit in force: the environment variable's value if set, else the default."""
        text = os.environ.get(self.env, "").strip()
        if not text:
            return self.default
        # read with a digit limit: int() of a huge string is itself slow
        if not (text.isascii() and text.isdigit() and len(text) <= 18 and int(text) >= 1):
            raise LimitError(
                f"{self.env}={text[:20]!r} is not a whole number >= 1: set it to e.g. "
                f"{self.env}={self.default}"
            )
        return int(text)

    def refusal(self, amount: str) -> str:
        """The end of a message refusing ``amount``: the limit and how to raise it."""
        limit = self.value()
        return f"{amount} is more than the {limit} accepted: raise the limit with {self.env}=N"


LIMITS: dict[str, Limit] = {
    row.name: row
    for row in [
        Limit("layers", 1000, "weight layers L of a network"),
        Limit("width", 10**6, "units n_l of one layer"),
        Limit("parameters", 10**8, "weights and biases of a network with concrete widths"),
        Limit("claim_length", 2000, "characters of one claim"),
        Limit("claim_depth", 50, "nesting of brackets in a claim"),
        Limit("claim_calls", 10, "nesting of sigma(...) and sigma'(...) in a claim"),
        Limit("exponent", 10, "|exponent| of one power in a claim"),
        Limit("power", 100, "product of the exponents of powers of powers, (x^10)^10"),
        Limit("number_digits", 100, "digits of one number written in a claim"),
        Limit("terms", 10**4, "terms of a claim written out (expanded) for the symbolic proof"),
        Limit(
            "probe_parameters",
            10**4,
            "parameters of a network the counterexample search evaluates",
        ),
        Limit("claim_file_bytes", 10**6, "bytes of a --claim-file"),
        Limit("claim_file_claims", 500, "claims in a --claim-file"),
        Limit("slope_digits", 30, "significant digits and |decimal exponent| of --leaky-slope"),
        Limit(
            "memory",
            4096,
            "MiB of memory a budgeted job (prove, derive, generate) may take beyond what its "
            "process starts with; check and train estimate theirs before allocating "
            "(numeric.memory)",
        ),
    ]
}
"""Every limit by name. Adding a limit is adding a row (and a line of the module's table)."""


def limit(name: str) -> int:
    """The value in force of the limit ``name``."""
    return LIMITS[name].value()


def check(name: str, amount: int, what: str) -> None:
    """Raise LimitError when ``amount`` exceeds the limit ``name``; ``what`` names the input as
    the message starts it (``"--layers 100000"``)."""
    row = LIMITS[name]
    if amount > row.value():
        raise LimitError(row.refusal(what))
