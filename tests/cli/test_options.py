"""cli.options: library values read when needed, the network options and their spec."""

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from bpverify.cli.main import main
from bpverify.cli.options import LibraryChoice, LibraryValue, library, network_spec


def test_a_library_value_is_read_when_called_and_printed_as_its_value():
    from bpverify.numeric.check.options import CheckOptions

    points = library("bpverify.numeric.check.options:CheckOptions.points")
    assert points() == CheckOptions.points
    assert str(points) == str(CheckOptions.points)


def test_a_library_value_can_be_a_parameter_default():
    from bpverify.derive.prove import prove

    value = library("bpverify.derive.prove:prove", "points")
    assert value() == 20 == prove.__kwdefaults__["points"]


def test_nothing_is_imported_before_a_value_is_needed():
    value = library("no_such_module_anywhere:X")
    choice = LibraryChoice("no_such_module_anywhere:NAMES")
    with pytest.raises(ModuleNotFoundError):
        value()
    with pytest.raises(ModuleNotFoundError):
        choice.choices  # noqa: B018


def test_a_library_choice_accepts_the_library_names_only():
    choice = LibraryChoice("bpverify.numeric.train.optim:OPTIMIZERS")
    assert choice.choices == ("sgd", "momentum", "adam")
    assert choice.convert("adam", None, None) == "adam"
    with pytest.raises(click.BadParameter, match="rmsprop"):
        choice.convert("rmsprop", None, None)


def _library_defaults() -> list:
    return [
        pytest.param(param, id=f"{name} {param.name}")
        for name, command in main.commands.items()
        for param in command.params
        if isinstance(param.default, LibraryValue)
    ]


@pytest.mark.parametrize("param", _library_defaults())
def test_every_library_default_exists_and_fits_its_option(param):
    value = param.default()
    assert param.type_cast_value(click.Context(main), value) is not None


def test_every_library_choice_exists():
    for command in main.commands.values():
        for param in command.params:
            if isinstance(param.type, LibraryChoice):
                assert param.type.choices, param.name


def test_help_shows_the_library_defaults():
    r = CliRunner().invoke(main, ["check", "--help"])
    assert r.exit_code == 0
    text = " ".join(r.stdout.split())  # click wraps the help to the terminal's width
    assert "[default: sigmoid]" in text and "[default: squared]" in text
    assert "[default: 3]" in text and "[auto|" in text


def test_the_group_help_imports_no_library():
    code = (
        "import sys; from bpverify.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sympy', 'numpy'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_network_spec_passes_the_option_values_to_the_library():
    spec = network_spec(None, "2,3,1", "tanh", "squared", "1/50")
    assert spec.describe() == "L=2, widths 2,3,1, tanh, squared loss"
    assert str(spec.leaky_slope) == "1/50"


def test_network_spec_leaves_unset_values_to_the_library():
    spec = network_spec(3, None, None, None, None)
    assert spec.layers == 3 and spec.symbolic
    assert spec.activations == ("sigmoid",) * 3 and spec.loss == "squared"
