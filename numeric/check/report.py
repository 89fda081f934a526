"""The result of a gradient check: per tensor and pair of sources, a table, JSON and JUnit XML."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from xml.etree import ElementTree as ET

from .compare import Comparison


@dataclass
class Problem:
    """Something wrong with the checked code itself (a missing key, a wrong shape, a NaN, an
    exception), found before any number could be compared."""

    tensor: str | None
    message: str
    point: int = 0

    def as_dict(self) -> dict:
        return {"tensor": self.tensor, "message": self.message, "point": self.point}


@dataclass
class Report:
    """What ``check_gradients`` found (see ``numeric.check.run``).

    ``comparisons`` holds, for every tensor and pair of sources, the worst of the random points;
    ``problems`` what was wrong with the checked code before comparing; ``passed`` is the
    overall verdict.
    """

    network: str
    candidate: str
    dtype: str
    method: str
    points: int
    batch: int
    mode: str
    comparisons: list[Comparison] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    name: str = ""
    reference: str = "symbolic (mpmath)"

    @property
    def passed(self) -> bool:
        return not self.problems and all(c.passed for c in self.comparisons)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def add_problems(self, problems) -> None:
        """Add ``problems``, each once: the same problem at every point is one line."""
        seen = {(q.tensor, q.message) for q in self.problems}
        for q in problems:
            if (q.tensor, q.message) not in seen:
                seen.add((q.tensor, q.message))
                self.problems.append(q)

    def failures(self) -> list[Comparison]:
        return [c for c in self.comparisons if not c.passed]

    # -- text ----------------------------------------------------------------------------------
    def header(self) -> str:
        title = f"{self.name}: " if self.name else ""
        batch = f", batch {self.batch}" if self.batch else ""
        return (
            f"{title}{self.network}; checking {self.candidate} ({self.dtype}) against "
            f"{self.reference} and finite differences ({self.method}); {self.points} random "
            f"point(s){batch}, {self.mode}"
        )

    COLUMNS = (
        "tensor",
        "pair",
        "max abs err",
        "max rel err",
        "worst",
        "values there",
        "kinks",
        "verdict",
    )
    """The table's columns: one row per tensor and pair of sources."""

    def rows(self) -> list[tuple[str, ...]]:
        """The table's rows as text, in the order of ``COLUMNS``."""
        rows: list[tuple[str, ...]] = []
        for c in self.comparisons:
            where = "[" + ",".join(str(i) for i in c.worst) + "]" if c.worst else "-"
            if c.point and self.points > 1:
                where += f" @{c.point}"
            vals = f"{c.values[0]:.10g} vs {c.values[1]:.10g}" if c.worst else "-"
            said = [x for x in (c.note, c.factor.name if c.factor else "") if x]
            verdict = c.verdict + (f" ({'; '.join(said)})" if said else "")
            rows.append(
                (
                    c.tensor,
                    "-".join(c.pair),
                    f"{c.max_abs:.2e}",
                    f"{c.max_rel:.2e}",
                    where,
                    vals,
                    str(c.kinks),
                    verdict,
                )
            )
        return rows

    def footer(self) -> list[str]:
        """The lines after the rows: problems, notes, then the verdict with its counts."""
        lines = []
        for p in self.problems:
            at = f"{p.tensor}: " if p.tensor else ""
            lines.append(f"problem: {at}{p.message}")
        lines += [f"note: {n}" for n in self.notes]
        lines += self.hints()
        failed = self.failures()
        summary = f"{len(self.comparisons)} comparisons, {len(failed)} failed"
        if failed:
            summary += " (" + ", ".join(f"{c.tensor} {'-'.join(c.pair)}" for c in failed) + ")"
        summary += f", {len(self.problems)} problem(s)"
        lines.append(f"{self.verdict}: {summary}")
        return lines

    def hints(self) -> list[str]:
        """One line per constant factor that failures are off by, naming their tensors and
        the likely convention or bug (``factors``)."""
        tensors: dict = {}
        for c in self.failures():
            if c.factor is not None:
                tensors.setdefault(c.factor, {})[c.tensor] = None
        return [
            f"hint: {r.name} on {', '.join(names)}: {r.says}: {r.hint}"
            for r, names in tensors.items()
        ]

    def table(self) -> str:
        """A fixed-width table, one row per tensor and pair, then problems and the verdict."""
        cols, rows = self.COLUMNS, self.rows()
        widths = [max(len(r[i]) for r in [cols, *rows]) for i in range(len(cols))]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        lines = [self.header(), "", fmt.format(*cols).rstrip()]
        lines += [fmt.format(*r).rstrip() for r in rows]
        return "\n".join(lines + self.footer())

    def _repr_html_(self) -> str:
        """The table as HTML, which Jupyter shows when a cell ends with the report."""
        head = "".join(f"<th>{escape(c)}</th>" for c in self.COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in self.rows()
        )
        *notes, verdict = self.footer()
        return (
            f"<p>{escape(self.header())}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            + "".join(f"<p>{escape(n)}</p>" for n in notes)
            + f"<p><strong>{escape(verdict)}</strong></p>"
        )

    def __str__(self) -> str:
        return self.table()

    # -- machine-readable ------------------------------------------------------------------------
    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "network": self.network,
            "candidate": self.candidate,
            "dtype": self.dtype,
            "method": self.method,
            "points": self.points,
            "batch": self.batch,
            "mode": self.mode,
            "reference": self.reference,
            "passed": self.passed,
            "comparisons": [c.as_dict() for c in self.comparisons],
            "problems": [p.as_dict() for p in self.problems],
            "notes": self.notes,
        }

    def to_json(self) -> str:
        return json.dumps(_finite(self.as_dict()), indent=2, allow_nan=False)


def document(reports: list[Report]) -> dict:
    """The JSON document of one or several reports, as a JSON-ready dict."""
    doc = {"passed": all(r.passed for r in reports), "reports": [r.as_dict() for r in reports]}
    return _finite(doc)


def to_json(reports: list[Report]) -> str:
    """One JSON document for one or several reports."""
    return json.dumps(document(reports), indent=2, allow_nan=False)


def _finite(obj):
    """NaN and infinities as null: JSON has no spelling for them."""
    if (isinstance(obj, float) and obj != obj) or obj in (float("inf"), float("-inf")):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def to_junit(reports: list[Report]) -> str:
    """JUnit XML: one testsuite per report, one testcase per tensor and pair, one per problem."""
    root = ET.Element("testsuites", name="bpverify check")
    for i, r in enumerate(reports):
        suite = ET.SubElement(root, "testsuite", name=r.name or r.network or f"network {i}")
        cases: list[tuple[str, str | None, str | None]] = []  # (name, failure, skipped)
        for c in r.comparisons:
            failure = skipped = None
            if not c.passed:
                where = ",".join(str(i) for i in c.worst)
                failure = (
                    f"{c.tensor} {'-'.join(c.pair)}: max abs error {c.max_abs:.3e}, max rel "
                    f"error {c.max_rel:.3e}; worst at [{where}] (point {c.point}): "
                    f"{c.values[0]!r} vs {c.values[1]!r}"
                )
                if c.factor is not None:
                    failure += f"; {c.factor}"
            elif c.verdict == "kink":
                skipped = "every entry lies at a kink"
            cases.append((f"{c.tensor} {'-'.join(c.pair)}", failure, skipped))
        cases += [(f"{p.tensor or 'grad-fn'} problem", p.message, None) for p in r.problems]
        for name, failure, skipped in cases:
            case = ET.SubElement(suite, "testcase", classname=suite.get("name", ""), name=name)
            if failure is not None:
                ET.SubElement(case, "failure", message=failure).text = failure
            if skipped is not None:
                ET.SubElement(case, "skipped", message=skipped)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(f is not None for _, f, _ in cases)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
