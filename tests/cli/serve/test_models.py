import pytest

pytest.importorskip("pydantic")

from pydantic import ValidationError

from bpverify.cli.serve.models import EXAMPLES, CheckRequest, Network, ProveRequest
from bpverify.derive import NetworkSpec, SpecError
from bpverify.numeric.check.options import CheckOptions


def test_a_network_reads_as_the_command_line_options_do():
    n = Network(widths="2,3,1", activation="tanh", cost="sum", l2=0.01)
    assert n.spec() == NetworkSpec(2, (2, 3, 1), "tanh", cost="sum", l2="1/100")
    assert Network(widths=[2, 3, 1], activations=["relu", "sigmoid"]).spec().activations == (
        "relu",
        "sigmoid",
    )


def test_derives_symbolic_widths_read_back():
    assert Network(widths=["n_0", "n_1", "n_2"]).spec() == NetworkSpec(2)


def test_the_library_names_what_is_wrong():
    with pytest.raises(SpecError, match="--layers L"):
        Network().spec()


def test_an_unknown_field_is_refused_not_ignored():
    with pytest.raises(ValidationError, match="activaton"):
        Network(layers=3, activaton="tanh")


def test_the_defaults_are_the_librarys():
    assert ProveRequest(network=Network(layers=1), claim="x").points == 20
    options = CheckRequest(network=Network(widths="2,1")).options()
    assert options == CheckOptions()


def test_every_field_has_an_example_for_its_error_messages():
    fields = set(Network.model_fields) | set(CheckRequest.model_fields)
    fields |= set(ProveRequest.model_fields)
    assert fields <= set(EXAMPLES)
