"""The network specification: depth, widths, activations, loss and the cost's conventions (mean
or sum over the samples, L2 weight decay), validated once."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import sympy as sp

from .activations import ACTIVATIONS, DEFAULT_ACTIVATION, LEAKY_SLOPE, OUTPUT_ACTIVATIONS
from .errors import InputError
from .limits import LIMITS, check, limit
from .losses import DEFAULT_LOSS, LOSSES


class SpecError(InputError):
    """A specification that cannot describe a network; the message names the fix."""


Width: TypeAlias = int | sp.Symbol


@dataclass(frozen=True)
class Cost:
    """One way of making the batch cost of the per-sample losses: its factor s(n) in
    C = s(n) (sum_i C_i + penalty), and how C and the L2 penalty's coefficient read."""

    scale: Callable[[sp.Expr], sp.Expr]
    text: str
    penalty: str


COSTS = {
    "mean": Cost(lambda n: 1 / sp.sympify(n), "C = (1/n) sum_i C_i", "lambda/(2n)"),
    "sum": Cost(lambda n: sp.Integer(1), "C = sum_i C_i", "lambda/2"),
}
"""The cost over the samples, by name (``NetworkSpec.cost``)."""

DEFAULT_COST = "mean"


def width_symbol(l: int) -> sp.Symbol:
    """The symbolic width n_l of layer l."""
    return sp.Symbol(f"n_{l}", integer=True, positive=True)


@dataclass(frozen=True)
class NetworkSpec:
    """A fully connected network ``z^(l) = W^(l) a^(l-1) + b^(l)``, ``a^(l) = sigma_l(z^(l))``.

    Arguments:
        layers: number of weight layers L >= 1 (the seed's C(w1, b1, w2, b2, w3, b3) has L = 3).
        widths: n_0 ... n_L as positive integers, or None for symbolic widths n_0 ... n_L.
        activations: one activation name for every layer, or a sequence of L names.
        loss: a name from ``LOSSES``.
        leaky_slope: the slope of ``leaky_relu`` for z <= 0.
        cost: how the per-sample losses C_i make the batch cost, a name from ``COSTS``: "mean"
            (C = (1/n) sum_i C_i) or "sum" (C = sum_i C_i).
        l2: the L2 weight decay lambda >= 0 (biases are not decayed): the cost gains
            lambda/(2n) sum_l ||W^(l)||_F^2 with the mean, lambda/2 sum_l ||W^(l)||_F^2 with the
            sum.

    Depth, widths and parameter count are held to the ``layers``, ``width`` and ``parameters``
    rows of ``limits.LIMITS`` (a ``LimitError`` names the limit and how to raise it).

    Example:
        >>> NetworkSpec(layers=2, widths=(2, 3, 1)).activations
        ('sigmoid', 'sigmoid')
    """

    layers: int
    # None (symbolic widths) is replaced by the symbols n_0 ... n_L in __post_init__: readers
    # always find a tuple.
    widths: tuple[Width, ...] = None  # type: ignore[assignment]
    activations: tuple[str, ...] | str = DEFAULT_ACTIVATION
    loss: str = DEFAULT_LOSS
    leaky_slope: sp.Rational = LEAKY_SLOPE
    cost: str = DEFAULT_COST
    l2: sp.Rational = sp.S.Zero

    def __post_init__(self) -> None:
        layers = self.layers
        if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
            raise SpecError(f"layers must be a whole number >= 1, got {layers!r}")
        # before the widths: symbolic widths make one symbol per layer
        check("layers", layers, f"a network of {layers} layers")
        object.__setattr__(self, "widths", _check_widths(layers, self.widths))
        if not self.symbolic:
            count = self.parameter_count
            check("parameters", int(count), f"a network of {count} weights and biases")
        if self.loss not in LOSSES:
            raise SpecError(f"unknown loss {self.loss!r}: choose one of {', '.join(LOSSES)}")
        object.__setattr__(self, "activations", self._check_activations())
        slope = sp.nsimplify(self.leaky_slope)
        if not (slope.is_real and slope.is_finite and slope >= 0):
            raise SpecError(f"leaky_slope must be a finite number >= 0, got {self.leaky_slope!r}")
        _check_slope_size(slope)
        object.__setattr__(self, "leaky_slope", slope)
        if self.cost not in COSTS:
            raise SpecError(f"unknown cost {self.cost!r}: choose one of {', '.join(COSTS)}")
        l2 = sp.nsimplify(self.l2)
        if not (l2.is_real and l2.is_finite and l2 >= 0):
            raise SpecError(f"l2 must be a finite number >= 0, e.g. 0.01, got {self.l2!r}")
        _check_slope_size(l2, "l2")
        object.__setattr__(self, "l2", l2)

    def _check_activations(self) -> tuple[str, ...]:
        L, loss = self.layers, LOSSES[self.loss]
        output = loss.output_activation
        names = self.activations
        if isinstance(names, str):
            names = tuple(n.strip() for n in names.split(",")) if "," in names else (names,) * L
            if output and len(set(names)) == 1 and len(names) == L:
                # One name: the hidden layers take it, the loss owns the output layer.
                names = (*names[:-1], output)
        names = tuple(names)
        if len(names) != L:
            raise SpecError(
                f"{len(names)} activations given for {L} layers: give one name, or {L} "
                "comma-separated names (one per layer)"
            )
        for l, name in enumerate(names, start=1):
            if name not in ACTIVATIONS and name not in OUTPUT_ACTIVATIONS:
                valid = ", ".join(ACTIVATIONS)
                raise SpecError(f"unknown activation {name!r} for layer {l}: choose one of {valid}")
        if output and names[-1] != output:
            raise SpecError(
                f"loss {self.loss!r} puts {output} on the output layer: make the last activation "
                f"{output!r}, or give one name for the hidden layers"
            )
        for l, name in enumerate(names, start=1):
            if name in OUTPUT_ACTIVATIONS and (l != L or output != name):
                owners = [repr(k) for k, v in LOSSES.items() if v.output_activation == name]
                raise SpecError(
                    f"activation {name!r} (layer {l}) exists only as the output of loss "
                    f"{' or '.join(owners)}: use it on the last layer with that loss"
                )
        last = OUTPUT_ACTIVATIONS.get(names[-1])
        width = self.widths[-1]
        if last and isinstance(width, int) and width < last.min_width:
            raise SpecError(
                f"loss {self.loss!r} takes at least {last.min_width} outputs ({last.name} of one "
                f"output is 1 whatever the weights, so every gradient is 0): make the last width "
                f"{last.min_width} or more, or use loss 'cross-entropy' for one output"
            )
        if not output and not loss.accepts(ACTIVATIONS[names[-1]]):
            fits = [k for k, row in ACTIVATIONS.items() if loss.accepts(row)]
            example = ",".join((*names[:-1], fits[0]))
            raise SpecError(
                f"{self.loss} needs outputs in {_interval(loss.outputs)}, which {names[-1]} does "
                f"not give: end with a {' or '.join(fits)} layer, e.g. --activation {example}"
            )
        return names

    @property
    def symbolic(self) -> bool:
        """True when any width is a SymPy symbol."""
        return any(isinstance(w, sp.Symbol) for w in self.widths)

    @property
    def parameter_count(self) -> int | sp.Expr:
        """Number of weights and biases: sum over l of n_l (n_{l-1} + 1)."""
        n = self.widths
        return sum(n[l] * (n[l - 1] + 1) for l in range(1, self.layers + 1))

    def describe(self) -> str:
        """One line naming the network, e.g. ``L=3, widths 2,3,3,1, sigmoid, squared loss``."""
        widths = ",".join(str(w) for w in self.widths)
        acts = self.activations
        act = acts[0] if len(set(acts)) == 1 else ",".join(acts)
        if len(set(acts[:-1])) == 1 and acts[-1] in OUTPUT_ACTIVATIONS:
            act = f"{acts[0]} (output {acts[-1]})" if self.layers > 1 else acts[-1]
        out = f"L={self.layers}, widths {widths}, {act}, {self.loss} loss"
        if self.cost != DEFAULT_COST:
            out += f", {self.cost} over samples"
        return out + (f", l2 {self.l2}" if self.l2 else "")

    def batch_scale(self, n: sp.Expr) -> sp.Expr:
        """The factor of the cost over n samples: 1/n for the mean, 1 for the sum."""
        return COSTS[self.cost].scale(n)

    def penalty_coefficient(self, n: sp.Expr) -> sp.Expr:
        """c in the cost's penalty c sum_l ||W^(l)||_F^2: lambda/(2n) (mean) or lambda/2 (sum)."""
        return self.batch_scale(n) * self.l2 / 2

    @property
    def conventions(self) -> str:
        """The batch cost in words, e.g. ``C = (1/n) sum_i C_i + lambda/(2n) sum_l ||W^(l)||_F^2
        (lambda = 1/10)``."""
        row = COSTS[self.cost]
        if not self.l2:
            return row.text
        return f"{row.text} + {row.penalty} sum_l ||W^(l)||_F^2 (lambda = {self.l2})"


def _interval(values: sp.Interval) -> str:
    """``(0, 1)``, ``[0, oo)``: an interval as a message writes it."""
    left, right = "(" if values.left_open else "[", ")" if values.right_open else "]"
    return f"{left}{values.start}, {values.end}{right}"


def _check_widths(layers: int, widths: Sequence[Width] | None) -> tuple[Width, ...]:
    if widths is None:
        return tuple(width_symbol(l) for l in range(layers + 1))
    widths = tuple(widths)
    if len(widths) != layers + 1:
        raise SpecError(
            f"{len(widths)} widths given for {layers} layers: give {layers + 1} widths "
            f"n_0,...,n_{layers} (inputs first, outputs last)"
        )
    for l, w in enumerate(widths):
        if isinstance(w, sp.Symbol):
            continue
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise SpecError(f"width n_{l} must be a whole number >= 1, got {w!r}")
        check("width", w, f"width n_{l} = {w}")
    return widths


def _check_slope_size(slope: sp.Rational, name: str = "leaky_slope") -> None:
    """A slope (or l2) whose numerator or denominator has more digits than --leaky-slope's text
    may give is refused: every formula that holds it would carry them."""
    bits = 7 * limit("slope_digits")  # 2 * digits * log2(10) < 7 * digits
    if max(abs(slope.p).bit_length(), slope.q.bit_length()) > bits:
        raise SpecError(
            f"{name} has more than {LIMITS['slope_digits'].value()} digits: "
            "give a short number, e.g. 0.01"
        )


def parse_widths(text: str, option: str = "--widths") -> tuple[int, ...]:
    """Parse ``"2,3,3,1"`` into widths; raise SpecError naming ``option`` and the bad entry.

    Sizes are checked on the text, before any number is built: at most ``layers`` + 1 widths,
    each of at most as many digits as the ``width`` limit has, and no larger than it."""
    items = text.split(",")
    check("layers", len(items) - 1, f"{option} with {len(items)} entries ({len(items) - 1} layers)")
    most = limit("width")
    widest = len(str(most))
    out = []
    for item in items:
        item = item.strip()
        digits = item.lstrip("0")
        if not (item.isascii() and item.isdigit()) or not digits:
            raise SpecError(
                f"{option}: width {_clip(item)!r} in {_clip(text)!r} is not a whole number >= 1: "
                "write widths as comma-separated whole numbers, e.g. 2,3,3,1"
            )
        # compared as text first: int() of a 5000-digit width is itself refused by Python
        if len(digits) > widest or int(digits) > most:
            shown = digits if len(digits) <= 24 else f"{len(digits)} digits"
            raise SpecError(f"{option}: " + LIMITS["width"].refusal(f"a width of {shown}"))
        out.append(int(digits))
    return tuple(out)


def _clip(text: str, most: int = 24) -> str:
    """``text`` shortened for a message: a message echoes input, never 100 KB of it."""
    return text if len(text) <= most else text[:most] + "..."


_DECIMAL = re.compile(r"[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_FRACTION = re.compile(r"[+-]?(\d+)\s*/\s*(\d+)")


def read_slope(value: str | float | int, option: str = "--leaky-slope") -> sp.Rational:
    """``--leaky-slope``'s value read exactly (``"0.01"`` is 1/100, ``"1/3"`` one third), its
    digits and decimal exponent checked against the ``slope_digits`` limit before the number is
    built: ``1e999999999`` would be a billion-digit integer. Raises SpecError naming the fix.

    Example:
        >>> read_slope("0.01"), read_slope("1/3"), read_slope(0.25)
        (1/100, 1/3, 1/4)
    """
    text = str(value).strip()
    most = limit("slope_digits")
    fix = f"give e.g. {option} 0.01"
    if (m := _FRACTION.fullmatch(text)) is not None:
        digits = max(len(m.group(1).lstrip("0")), len(m.group(2).lstrip("0")))
        if digits > most:
            refusal = LIMITS["slope_digits"].refusal(f"{digits} digits")
            raise SpecError(f"{option} {_clip(text)}: {refusal}")
        if int(m.group(2)) == 0:
            raise SpecError(f"{option} {_clip(text)} divides by zero: {fix}")
        return sp.Rational(int(m.group(1).replace(" ", "")), int(m.group(2)))
    m = _DECIMAL.fullmatch(text)
    if m is None or not (m.group(1) or m.group(2)):
        raise SpecError(f"{option} {_clip(text)!r} is not a number: {fix}")
    significant = len((m.group(1) + (m.group(2) or "")).strip("0"))
    exponent = (m.group(3) or "0").lstrip("+")
    size = None
    if significant > most:
        size = f"{significant} significant digits"
    elif len(exponent.lstrip("-0")) > len(str(most)) or abs(int(exponent)) > most:
        size = f"the decimal exponent {_clip(exponent)}"
    if size is not None:
        raise SpecError(f"{option} {_clip(text)}: {LIMITS['slope_digits'].refusal(size)}")
    return sp.Rational(text)


def read_l2(value: str | float | int) -> sp.Rational:
    """``--l2``'s value read exactly, as ``read_slope`` reads ``--leaky-slope``; it must be
    finite and >= 0. Raises SpecError naming --l2 and the fix.

    Example:
        >>> read_l2("0.1"), read_l2(0)
        (1/10, 0)
    """
    l2 = read_slope(value, "--l2")
    if l2 < 0:
        raise SpecError(
            f"--l2 {_clip(str(value).strip())} is negative: give a decay >= 0, e.g. --l2 0.01"
        )
    return l2


def parse_spec(
    *,
    layers: int | None = None,
    widths: str | Sequence[int] | None = None,
    activation: str | Sequence[str] | None = None,
    loss: str | None = None,
    leaky_slope: str | float | None = None,
    cost: str | None = None,
    l2: str | float | None = None,
) -> NetworkSpec:
    """A ``NetworkSpec`` from the values a command line or a configuration file gives.

    ``widths`` is text such as ``"2,3,1"`` or a sequence of whole numbers; ``activation`` one
    name, comma-separated names or a sequence of names; ``leaky_slope`` a number or its text
    (read exactly: ``"0.01"`` is 1/100); ``cost`` "mean" or "sum"; ``l2`` the weight decay, read
    as ``leaky_slope`` is. ``layers`` defaults to one less than the number of
    widths; without widths the widths are symbolic. Every other value left None takes the
    ``NetworkSpec`` default. Raises SpecError naming what is wrong and the fix.

    Example:
        >>> parse_spec(widths="2,3,1", activation="tanh").describe()
        'L=2, widths 2,3,1, tanh, squared loss'
    """
    parsed = parse_widths(widths) if isinstance(widths, str) else widths
    if parsed is not None and len(parsed) < 2:
        raise SpecError(
            "--widths needs the input width and one width per layer after it, e.g. 2,3,1 "
            "(two inputs, three hidden units, one output)"
        )
    if layers is None:
        if parsed is None:
            raise SpecError("give the depth with --layers L, or the widths with --widths")
        layers = len(parsed) - 1
    settings: dict = {}
    if activation is not None:
        settings["activations"] = activation
    if loss is not None:
        settings["loss"] = loss
    if leaky_slope is not None:
        # through the text, so that the float 0.01 is 1/100 and not its binary neighbour
        settings["leaky_slope"] = read_slope(leaky_slope)
    if cost is not None:
        settings["cost"] = cost
    if l2 is not None:
        settings["l2"] = read_l2(l2)
    if parsed is not None:
        settings["widths"] = tuple(parsed)
    return NetworkSpec(layers, **settings)
