"""cli.exitcodes: the exit codes of bpverify in one place, and the one code of several outcomes."""

from bpverify.cli import exitcodes


def test_the_codes_are_the_documented_contract():
    # docs and scripts rely on these numbers: changing one is a breaking change.
    names = ("PASS", "FAIL", "BAD_INPUT", "UNDECIDED", "INTERNAL_ERROR", "INTERRUPTED")
    assert [getattr(exitcodes, name) for name in names] == [0, 1, 2, 3, 4, 130]


def test_verdicts_and_the_worst_of_several():
    assert exitcodes.VERDICTS == {"PROVED": 0, "REFUTED": 1, "UNDECIDED": 3}
    assert exitcodes.worst([]) == 0
    assert exitcodes.worst([0, 3, 0]) == 3
    assert exitcodes.worst([3, 1, 0]) == 1
    assert exitcodes.worst([1, 2, 3]) == 2
    assert exitcodes.passed(True) == 0 and exitcodes.passed(False) == 1


def test_every_code_of_a_claim_line_has_a_severity():
    # worst() ranks by SEVERITY.index: a verdict code missing from it would raise, not combine.
    line_codes = {*exitcodes.VERDICTS.values(), exitcodes.BAD_INPUT}
    assert line_codes <= set(exitcodes.SEVERITY)
    assert exitcodes.worst(line_codes) == exitcodes.BAD_INPUT
