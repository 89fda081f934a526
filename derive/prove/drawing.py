"""A claim drawn over several lines, as ``derive --format text`` prints it, read back as one line.

SymPy's pretty printer draws a sum as a sign of ╲ ╱ between a ``___`` and a ``‾‾‾`` bar, with
its limits above and below; a fraction as numerator and denominator around a ``───`` bar; and
tall brackets as columns of ⎛ ⎜ ⎝. Each drawn piece is a rectangle of columns, set side by side
with the others, so a drawing is read by finding its outermost piece, reading what stands left
of it, inside it and right of it (each again a drawing), and writing them in one line of the
claim language: ``\\sum_{j=0}^{n_{2} - 1} (...)``, ``((...)/(...))``, ``(...)``. A power is drawn
with its exponent above the base and to its right (``ℯ`` under ``z2[0]``), read ``ℯ^(z2[0])``. A
picture wider than the terminal is cut into screens, each line of one ending in `` ↪`` and the
next screen's beginning with ``↪ ``; the screens are joined back first. The heading derive
prints before a rule (``layer 2, unrolled form:``) is dropped.

Example:
    >>> print(one_line("  1\\n ___\\n ╲\\n  ╲\\n  ╱   y[j]\\n ╱\\n ‾‾‾\\nj = 0"))
    \\sum_{j=0}^{1} (y[j])
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..limits import LIMITS, limit
from .grammar import ClaimError

_GLYPHS = "╲╱‾─⎛⎜⎝⎞⎟⎠⎧⎨⎩⎪⎫⎬⎭"
_OPENING, _CLOSING = "⎛⎜⎝", "⎞⎟⎠"
_WRAP = "↪"
_ROW_BREAK = " \\\\ "
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_HEADING = re.compile(r"\A\s*layer\s+\d+\s*,\s*(?:index|unrolled)\s+form\s*:[ \t]*")
"""The heading ``derive --format text`` prints before each rule of the index and unrolled forms
(the matrix form's is ``matrix_claims``')."""


def is_drawing(text: str) -> bool:
    """True when ``text`` holds a piece drawn over several lines (a sign or bar of a sum,
    fraction, bracket or branches, or an exponent raised over the blanks beside its base), or
    cut into screens."""
    if "\n" not in text.strip():
        return False
    if any(c in text for c in _GLYPHS + _WRAP):
        return True
    lines = [line for line in text.split("\n") if line.strip()]
    return "\\" not in text and any(map(_raised, lines, lines[1:]))


def _raised(upper: str, lower: str) -> bool:
    """True when every character of ``upper`` stands over a blank of ``lower``: an exponent."""
    return all(c == " " or lower[i : i + 1] in ("", " ") for i, c in enumerate(upper))


def one_line(text: str) -> str:
    """``text`` with derive's heading dropped and its drawn part read back into one line; lines
    before the drawing that end with ``=`` (derive's ``dC_0/da1[k] =``) are kept in front of it."""
    text = _HEADING.sub("", text)
    if not is_drawing(text):
        return text
    lines = text.strip("\n").split("\n")
    head = []
    while lines and lines[0].rstrip().endswith("=") and not any(c in lines[0] for c in _GLYPHS):
        head.append(lines.pop(0).strip())
    return " ".join([*head, _read(_joined(lines), limit("claim_depth"))])


def _joined(lines: list[str]) -> list[str]:
    """The screens of a picture cut at the terminal's width put side by side again: screens are
    separated by a blank line, a screen's lines end with `` ↪`` when another follows and begin
    with ``↪ `` when one came before."""
    if not any(line.rstrip().endswith(_WRAP) for line in lines):
        return lines
    screens: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            screens[-1].append(line)
        elif screens[-1]:
            screens.append([])
    screens = [screen for screen in screens if screen]
    if len({len(screen) for screen in screens}) != 1:
        raise ClaimError(
            "cannot join the screens of the drawn claim (their heights differ): paste every "
            "screen of the rule as printed, or the rule from bpverify derive --format latex"
        )
    rows = [""] * len(screens[0])
    for n, screen in enumerate(screens):
        cut = []
        for line in screen:
            if n > 0:
                line = _marked(line, line.startswith(_WRAP)).removeprefix(_WRAP)[1:]
            if n < len(screens) - 1:
                line = line.rstrip()
                line = _marked(line, line.endswith(" " + _WRAP))[:-2]
            cut.append(line)
        width = max(map(len, cut))
        rows = [row + part.ljust(width) for row, part in zip(rows, cut, strict=True)]
    return rows


def _marked(line: str, marked: bool) -> str:
    """``line``, when it carries the ↪ its place among the screens needs."""
    if not marked:
        raise ClaimError(
            f"cannot join the screens of the drawn claim at {line.strip()[:20]!r}: every line "
            "of a screen but the last ends with ' ↪', every line of a screen but the first "
            "begins with '↪ ': paste the rule as printed, or from bpverify derive --format latex"
        )
    return line


def _box(lines: list[str]) -> list[str]:
    """The lines as a rectangle, blank lines above and below removed."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    width = max((len(line) for line in lines), default=0)
    return [line.ljust(width) for line in lines]


def _columns(rows: list[str], start: int, end: int | None = None) -> list[str]:
    return [row[start:end] for row in rows]


def _read(lines: list[str], depth: int) -> str:
    """One line of the drawing ``lines``; ``depth`` more pieces may nest inside it."""
    if depth < 0:
        raise ClaimError(
            "the drawing nests sums, fractions and brackets more than "
            f"{limit('claim_depth')} deep: write it with fewer (or raise the limit with "
            f"{LIMITS['claim_depth'].env}=N)"
        )
    rows = _box(lines)
    if not rows:
        return ""
    if len(rows) == 1:
        return rows[0].strip()
    for reader in (_sum, _brackets, _cases, _fraction, _line):
        found = reader(rows, lambda part: _read(part, depth - 1))
        if found is not None:
            return found
    raise ClaimError(
        "cannot read the claim drawn over several lines: paste the rule from "
        "bpverify derive --format latex instead"
    )


def _sum(rows: list[str], read: Callable[[list[str]], str]) -> str | None:
    """The outermost sum: its sign spans from the row below the upper limit (row 0) to the row
    above the lower limit (the last row)."""
    top = next((r for r, row in enumerate(rows) if re.search(r"_{2,}", row)), None)
    bottom = next((r for r, row in enumerate(rows) if "‾" in row), None)
    if top != 1 or bottom != len(rows) - 2:
        return None
    bar = re.search(r"_+", rows[top])
    assert bar is not None
    lower, upper = _limit(rows[-1], bar.span()), _limit(rows[0], bar.span())
    start = min(bar.start(), lower[0], upper[0])
    end = max(bar.end(), lower[1], upper[1], *(_last_slash(row) for row in rows[1:-1]))
    index = re.fullmatch(r"\s*([a-z])\s*=\s*(\d+)\s*", rows[-1][lower[0] : lower[1]])
    if index is None:
        return None
    bound = rows[0][upper[0] : upper[1]].strip().translate(_SUBSCRIPTS)
    bound = re.sub(r"n(\d+)", r"n_{\1}", bound)
    before = read(_columns(rows, 0, start))
    body = read(_columns(rows, end))
    return f"{before} \\sum_{{{index.group(1)}={index.group(2)}}}^{{{bound}}} ({body})".strip()


def _last_slash(row: str) -> int:
    found = [i for i, c in enumerate(row) if c in "╲╱‾"]
    return max(found) + 1 if found else 0


def _limit(row: str, span: tuple[int, int]) -> tuple[int, int]:
    """The columns of the limit written in ``row`` over or under a sign at ``span``: the run of
    text (single spaces inside it) that meets the sign's columns."""
    for m in re.finditer(r"\S+(?: \S+)*", row):
        if m.start() < span[1] and m.end() > span[0]:
            return m.span()
    return span


def _brackets(rows: list[str], read: Callable[[list[str]], str]) -> str | None:
    """Tall brackets spanning every row: ⎛ ... ⎞ as ( ... )."""
    opening = [c for c in range(len(rows[0])) if all(row[c] in "⎛⎜⎝" for row in rows)]
    if not opening:
        return None
    start, depth = opening[0], 0
    for c in range(start, len(rows[0])):
        depth += rows[0][c] == "⎛"
        depth -= rows[0][c] == "⎞"
        if depth == 0:
            before = read(_columns(rows, 0, start))
            inside = read(_columns(rows, start + 1, c))
            return f"{before} ({inside}) {read(_columns(rows, c + 1))}".strip()
    return None


def _fraction(rows: list[str], read: Callable[[list[str]], str]) -> str | None:
    """The longest ─ bar: numerator above it, denominator below, in its columns."""
    bars = [
        (m.end() - m.start(), r, m.span())
        for r, row in enumerate(rows)
        for m in re.finditer("─+", row)
        if not _enclosed(row, m.start())
    ]
    if not bars:
        return None
    _, r, (start, end) = max(bars)
    numerator = read(_columns(rows[:r], start, end))
    denominator = read(_columns(rows[r + 1 :], start, end))
    before = read([row[:start] for row in rows])
    after = read([row[end:] for row in rows])
    return f"{before} (({numerator})/({denominator})) {after}".strip()


def _cases(rows: list[str], read: Callable[[list[str]], str]) -> str | None:
    """A brace ⎧ ⎨ ⎩ spanning every row, its branches to the right ("value  for condition" or
    "value  otherwise", blank rows between them), as \\begin{cases} ... \\end{cases}."""
    brace = next((c for c in range(len(rows[0])) if rows[0][c] == "⎧" and rows[-1][c] == "⎩"), None)
    if brace is None or not all(row[brace] in "⎪⎨" for row in rows[1:-1]):
        return None
    right = _columns(rows, brace + 1)
    branches, group = [], []
    for row in [*right, ""]:
        if row.strip():
            group.append(row)
        elif group:
            branches.append(_branch(group, read))
            group = []
    before = read(_columns(rows, 0, brace))
    rows_text = _ROW_BREAK.join(branches)
    return f"{before} \\begin{{cases}} {rows_text} \\end{{cases}}".strip()


def _branch(rows: list[str], read: Callable[[list[str]], str]) -> str:
    """One branch of a drawn Piecewise: its value, then for and its condition, or otherwise."""
    for word, latex in (("for", "\\text{for}"), ("otherwise", "\\text{otherwise}")):
        found = [m.start() for row in rows for m in re.finditer(rf"(?<!\S){word}(?!\S)", row)]
        if found:
            at = found[0]
            value = read(_columns(rows, 0, at))
            rest = read(_columns(rows, at + len(word))) if word == "for" else ""
            return f"{value} & {latex} {rest}".rstrip()
    raise ClaimError("cannot read a branch of the drawn cases: paste the rule from --format latex")


def _enclosed(row: str, at: int) -> bool:
    """True when column ``at`` of ``row`` lies inside a tall bracket opened to its left: a bar
    there is a fraction inside the bracket, read with the bracket (``_line``)."""
    before = row[:at]
    return sum(c in _OPENING for c in before) > sum(c in _CLOSING for c in before)


def _line(rows: list[str], read: Callable[[list[str]], str]) -> str | None:
    """Pieces side by side, read left to right: characters, each alone in its column; tall
    brackets not as tall as the drawing, ( ... ); and after either, an exponent drawn above its
    top and to its right, ^(...). The characters stand on one row, the baseline, which every
    bracket spans. None when a character is left that none of these explains."""
    out, c, width = [], 0, len(rows[0])
    spans: list[tuple[int, int]] = []  # the rows of each piece
    while c < width:
        column = [row[c] for row in rows]
        marks = [r for r, ch in enumerate(column) if ch != " "]
        if not marks:
            out.append(" ")
            c += 1
            continue
        if any(ch in _OPENING for ch in column):
            found = _tall_bracket(rows, c, read)
            if found is None:
                return None
            text, top, bottom, c = found
        elif len(marks) == 1:
            text, top, bottom, c = column[marks[0]], marks[0], marks[0], c + 1
        else:
            return None
        out.append(text)
        spans.append((top, bottom))
        end = c
        while end < width and all(row[end] == " " for row in rows[top:]):
            end += 1
        while end > c and all(row[end - 1] == " " for row in rows[:top]):
            end -= 1
        if end > c:
            out.append(f"^({read(_columns(rows[:top], c, end))})")
            c = end
    baseline = {top for top, bottom in spans if top == bottom}
    if len(baseline) > 1 or any(not top <= r <= bottom for r in baseline for top, bottom in spans):
        return None
    return "".join(out).strip()


def _tall_bracket(
    rows: list[str], c: int, read: Callable[[list[str]], str]
) -> tuple[str, int, int, int] | None:
    """The bracket whose ⎛ ... ⎝ stands in column ``c``: its contents in brackets, its top and
    bottom rows and the column after its ⎞ ... ⎠; None when it is not one whole bracket with
    nothing above or below it in its columns."""
    marks = [r for r, row in enumerate(rows) if row[c] != " "]
    top, bottom = marks[0], marks[-1]
    shape = "".join(rows[r][c] for r in range(top, bottom + 1))
    if not re.fullmatch("⎛⎜*⎝", shape):
        return None
    depth = 0
    for d in range(c, len(rows[top])):
        depth += (rows[top][d] == "⎛") - (rows[top][d] == "⎞")
        if depth == 0:
            break
    else:
        return None
    closing = "".join(rows[r][d] for r in range(top, bottom + 1))
    outside = rows[:top] + rows[bottom + 1 :]
    if not re.fullmatch("⎞⎟*⎠", closing) or any(row[c : d + 1].strip() for row in outside):
        return None
    inside = read(_columns(rows[top : bottom + 1], c + 1, d))
    return f"({inside})", top, bottom, d + 1
