"""cli.progress and the commands that use it: progress and hints for a person at a terminal,
nothing for pipes, and output that does not depend on which it is."""

import io
import sys

import pytest
from click.testing import CliRunner

from bpverify.cli import progress
from bpverify.cli.derive import HINT
from bpverify.cli.main import main

DERIVE = ["derive", "--layers", "2"]


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self):
        return True


@pytest.fixture
def at_terminal(monkeypatch):
    """``at_terminal("stdout", "stderr")``: those streams of the command count as terminals.

    CliRunner swaps sys.stdout and sys.stderr for its own streams while a command runs, so the
    test decides by identity at the moment of the call. Progress shows at once (no delay)."""

    def install(*names):
        def is_terminal(stream):
            return any(stream is getattr(sys, name) for name in names)

        monkeypatch.setattr(progress, "is_terminal", is_terminal)
        monkeypatch.setattr(progress, "SHOW_AFTER", 0)
        monkeypatch.setenv("COLUMNS", "200")  # wide enough that no message is cut

    return install


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_is_terminal_asks_the_stream():
    assert progress.is_terminal(Terminal())
    assert not progress.is_terminal(io.StringIO())
    assert not progress.is_terminal(None)
    closed = Terminal()
    closed.close()
    assert not progress.is_terminal(io.StringIO()) and not progress.is_terminal(object())


def drawn(text):
    """The lines a terminal of ``COLUMNS`` columns showed: each draw starts with a carriage
    return and is padded to the width less one, and the last one blanks the line."""
    return [part.rstrip() for part in text.split("\r")[1:]]


@pytest.fixture
def terminal(monkeypatch):
    """A terminal of 40 columns, where progress shows at once."""
    monkeypatch.setattr(progress, "SHOW_AFTER", 0)
    monkeypatch.setenv("COLUMNS", "40")
    return Terminal()


def test_the_reporter_draws_one_line_and_clears_it(terminal):
    with progress.reporter("bpverify test", terminal) as say:
        say("first")
        say("second")
    text = terminal.getvalue()
    assert drawn(text) == ["bpverify test: first", "bpverify test: second", "", ""]
    # each draw covers the whole width less one, so a shorter line hides a longer one
    assert all(len(part) == 39 for part in text.split("\r")[1:4])
    assert "\n" not in text and text.endswith("\r")


def test_the_reporter_is_silent_when_the_stream_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(progress, "SHOW_AFTER", 0)
    piped = io.StringIO()
    with progress.reporter("bpverify test", piped) as say:
        say("first")
    assert piped.getvalue() == ""


def test_quick_work_shows_nothing(terminal, monkeypatch):
    # messages wait for SHOW_AFTER seconds; work that ends before then leaves no trace
    monkeypatch.setattr(progress, "SHOW_AFTER", 3600)
    with progress.reporter("bpverify test", terminal) as say:
        say("first")
    assert terminal.getvalue() == ""


def test_the_line_fits_the_terminal(terminal, monkeypatch):
    monkeypatch.setenv("COLUMNS", "20")
    with progress.reporter("bpverify test", terminal) as say:
        say("a message much longer than twenty columns")
    assert drawn(terminal.getvalue())[0] == "bpverify test: a me"


def test_derive_at_a_terminal_shows_progress_and_the_hint(at_terminal):
    at_terminal("stdout", "stderr")
    r = run(*DERIVE)
    assert r.exit_code == 0, r.output
    assert "bpverify derive: self-check: dC/dW^(2), rule 2 of 8" in drawn(r.stderr)
    # the hint is the one line, after the progress line was blanked in place
    assert r.stderr.endswith("\r" + HINT + "\n") and r.stderr.count("\n") == 1
    for way in ("--format text", "-o gradients.tex", "--render gradients.png"):
        assert way in HINT


def test_derive_piped_says_nothing_more_and_prints_the_same():
    piped = run(*DERIVE)
    assert piped.exit_code == 0 and piped.stderr == ""


def test_derive_output_is_the_same_at_a_terminal(at_terminal):
    piped = run(*DERIVE)
    at_terminal("stdout", "stderr")
    assert run(*DERIVE).stdout == piped.stdout


def test_derive_piped_into_a_terminal_shows_progress_but_no_hint(at_terminal):
    # `bpverify derive ... > out.tex`: the LaTeX goes to a file, so there is nothing to explain
    at_terminal("stderr")
    r = run(*DERIVE)
    assert "self-check" in r.stderr and HINT not in r.stderr


def test_no_hint_where_the_output_is_readable(at_terminal, tmp_path):
    at_terminal("stdout")
    for extra in (["--format", "text"], ["--format", "json"], ["-o", str(tmp_path / "d.tex")]):
        r = run(*DERIVE, *extra)
        assert r.exit_code == 0 and HINT not in r.stderr, extra


def test_check_and_prove_show_progress_at_a_terminal_only(at_terminal):
    check = ["check", "--widths", "2,2,1", "--points", "1"]
    prove = ["prove", "--layers", "2", "--wrt", "b^(2)_j", "--claim", "2*(a^(2)_j - y_j)"]
    quiet = [run(*check), run(*prove)]
    at_terminal("stderr")
    shown = [run(*check), run(*prove)]
    assert "point 1 of 1: finite differences" in shown[0].stderr
    assert "looking for a counterexample" in shown[1].stderr
    for q, s in zip(quiet, shown, strict=True):
        assert "\r" not in q.stderr and s.stdout == q.stdout
        assert s.exit_code == q.exit_code
