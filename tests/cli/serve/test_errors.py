import pytest

pytest.importorskip("fastapi")

from bpverify.cli.serve.errors import field_of


@pytest.mark.parametrize(
    "message, field",
    [
        ("--widths: width '0' in '2,0,1' is not a whole number >= 1", "widths"),
        ("unknown loss 'l1': choose one of squared, ...", "loss"),
        ("unknown activation 'x' (--activation): choose ...", "activations"),
        ("seed (--seed) must be a whole number >= 0, got -1", "seed"),
        ("the claim ends too early: close every bracket", "claim"),
        ("something about nothing", None),
    ],
)
def test_the_field_a_library_message_is_about(message, field):
    assert field_of(message, None) == field
