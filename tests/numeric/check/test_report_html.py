"""The report of a check as Jupyter shows it: the table's rows, problems and verdict in HTML."""

from html.parser import HTMLParser

from bpverify.derive import NetworkSpec
from bpverify.numeric.check.report import Problem, Report
from bpverify.numeric.check.run import check_gradients

SPEC = NetworkSpec(2, (2, 3, 1), "tanh")


class Cells(HTMLParser):
    """The text of every table cell (th and td), row by row, and of every paragraph."""

    def __init__(self):
        super().__init__()
        self.rows, self.paragraphs, self.where = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        if tag in ("th", "td", "p"):
            self.where = tag
            (self.rows[-1] if tag != "p" else self.paragraphs).append("")

    def handle_endtag(self, tag):
        if tag in ("th", "td", "p"):
            self.where = None

    def handle_data(self, data):
        if self.where == "p":
            self.paragraphs[-1] += data
        elif self.where:
            self.rows[-1][-1] += data


def cells(report) -> Cells:
    parser = Cells()
    parser.feed(report._repr_html_())
    return parser


def test_the_html_holds_the_tables_rows_and_verdict():
    report = check_gradients(SPEC, points=1)
    parsed = cells(report)
    assert parsed.rows == [list(Report.COLUMNS), *map(list, report.rows())]
    assert parsed.paragraphs[0] == report.header()
    assert parsed.paragraphs[-1] == report.table().splitlines()[-1]
    assert parsed.paragraphs[-1].startswith("PASS: ")


def test_problems_are_shown_and_escaped():
    report = Report("net", "user", "float64", "central", 1, 2, "every entry")
    report.problems.append(Problem("W1", "returned <nothing> & more"))
    html = report._repr_html_()
    assert "&lt;nothing&gt; &amp; more" in html
    assert cells(report).paragraphs[1:] == [
        "problem: W1: returned <nothing> & more",
        ("FAIL: 0 comparisons, 0 failed, 1 problem(s)"),
    ]
