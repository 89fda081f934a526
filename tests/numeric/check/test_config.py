"""Networks listed in pyproject.toml [tool.bpverify] or bpverify.toml: finding, merging and
refusing configuration files."""

from dataclasses import fields

import pytest

from bpverify.derive import InputError
from bpverify.numeric.check.config import KEYS, ConfigError, find, load, load_checks
from bpverify.numeric.check.options import CheckOptions

PYPROJECT = """
[project]
name = "mine"

[tool.bpverify]
points = 2
seed = 7

[[tool.bpverify.check]]
name = "two-layer tanh"
widths = [2, 8, 1]
activation = "tanh"
seed = 3

[[tool.bpverify.check]]
widths = "3,4,2"
loss = "softmax-cross-entropy"
grad-fn = "mynet/grads.py:gradients"
"""

BPVERIFY_TOML = """
dtype = "float32"

[[check]]
widths = [2, 3, 1]
activation = ["relu", "sigmoid"]
loss = "cross-entropy"
avoid-kinks = true
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_pyproject_lists_the_networks_of_its_check_tables(tmp_path):
    first, second = load(_write(tmp_path, "pyproject.toml", PYPROJECT))
    assert first["widths"] == [2, 8, 1] and first["activation"] == "tanh"
    assert second["widths"] == "3,4,2" and second["loss"] == "softmax-cross-entropy"


def test_top_level_settings_are_defaults_a_table_overrides(tmp_path):
    first, second = load(_write(tmp_path, "pyproject.toml", PYPROJECT))
    assert first["points"] == 2 and second["points"] == 2
    assert first["seed"] == 3 and second["seed"] == 7


def test_unnamed_networks_are_numbered(tmp_path):
    first, second = load(_write(tmp_path, "pyproject.toml", PYPROJECT))
    assert first["name"] == "two-layer tanh" and second["name"] == "network 2"


def test_grad_fn_is_relative_to_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    _, second = load(_write(tmp_path / "sub", "pyproject.toml", PYPROJECT))
    assert second["grad-fn"] == f"{tmp_path / 'sub' / 'mynet' / 'grads.py'}:gradients"


def test_an_absolute_grad_fn_is_kept(tmp_path):
    target = tmp_path / "elsewhere" / "g.py"
    text = f'[[check]]\nwidths = [1, 1]\ngrad-fn = "{target}:f"\n'
    (entry,) = load(_write(tmp_path, "bpverify.toml", text))
    assert entry["grad-fn"] == f"{target}:f"


def test_bpverify_toml_uses_top_level_check_tables(tmp_path):
    (entry,) = load(_write(tmp_path, "bpverify.toml", BPVERIFY_TOML))
    assert entry == {
        "dtype": "float32",
        "widths": [2, 3, 1],
        "activation": ["relu", "sigmoid"],
        "loss": "cross-entropy",
        "avoid-kinks": True,
        "name": "network 1",
    }


def test_find_prefers_bpverify_toml(tmp_path):
    _write(tmp_path, "pyproject.toml", PYPROJECT)
    assert find(tmp_path) == tmp_path / "pyproject.toml"
    _write(tmp_path, "bpverify.toml", BPVERIFY_TOML)
    assert find(tmp_path) == tmp_path / "bpverify.toml"


def test_find_ignores_a_pyproject_without_the_section(tmp_path):
    _write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n')
    assert find(tmp_path) is None


def test_find_nothing_in_an_empty_directory(tmp_path):
    assert find(tmp_path) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[tool.bpverify]\npoints = 2\n\n[[tool.bpverify.check]]\nwidths = [2, 1]\ncolour = 1\n",
            "[[tool.bpverify.check]] entry 1: unknown key 'colour'; known keys: name, widths",
        ),
        (
            "[tool.bpverify]\npointz = 2\n\n[[tool.bpverify.check]]\nwidths = [2, 1]\n",
            "[tool.bpverify]: unknown key 'pointz'",
        ),
        (
            '[[tool.bpverify.check]]\nwidths = [2, 1]\npoints = "three"\n',
            "points = 'three' is not a whole number",
        ),
        ("[[tool.bpverify.check]]\nwidths = [2, 1]\npoints = 2.5\n", "points = 2.5 is not a whole"),
        ("[[tool.bpverify.check]]\nwidths = [2, 1]\nseed = true\n", "seed = True is not a whole"),
        ("[[tool.bpverify.check]]\nwidths = 3\n", "widths = 3 is not a list or string"),
        ("[[tool.bpverify.check]]\nwidths = [2, 1]\nprojection = 1\n", "is not a boolean"),
        (
            '[[tool.bpverify.check]]\nname = "no widths"\n',
            "[[tool.bpverify.check]] entry 1 has no widths; add widths = [...]",
        ),
        ("[tool.bpverify]\npoints = 2\n", "lists no networks; add a [[tool.bpverify.check]]"),
        ("[tool.bpverify\npoints = 2\n", "not valid TOML"),
    ],
    ids=[
        "unknown key",
        "unknown default",
        "string for int",
        "float for int",
        "bool for int",
        "int for widths",
        "int for bool",
        "missing widths",
        "no networks",
        "invalid TOML",
    ],
)
def test_bad_pyproject_raises_a_config_error(tmp_path, text, message):
    path = _write(tmp_path, "pyproject.toml", text)
    with pytest.raises(ConfigError) as e:
        load(path)
    assert message in str(e.value)
    assert str(path) in str(e.value)  # names the file


def test_bad_bpverify_toml_names_the_table(tmp_path):
    path = _write(tmp_path, "bpverify.toml", "[[check]]\nwidths = [2, 1]\nloss = 3\n")
    with pytest.raises(ConfigError, match=r"\[\[check\]\] entry 1: loss = 3 is not a string"):
        load(path)


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no configuration file"):
        load(tmp_path / "nothing.toml")


def test_a_pyproject_without_the_section_is_a_config_error(tmp_path):
    path = _write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"no \[tool.bpverify\] table"):
        load(path)


def test_config_errors_are_input_errors():
    assert issubclass(ConfigError, InputError)  # the CLI's exit code 2


@pytest.mark.parametrize("value", ["3", "[1, 2]", '"tanh"'])
def test_a_tool_bpverify_that_is_not_a_table_is_a_config_error(tmp_path, value):
    path = _write(tmp_path, "pyproject.toml", f"[tool]\nbpverify = {value}\n")
    with pytest.raises(ConfigError, match=r"\[tool.bpverify\]"):
        load(path)


# -- networks and options --------------------------------------------------------------------------


def test_the_keys_are_the_network_the_label_and_every_check_option():
    options = {f.name.replace("_", "-") for f in fields(CheckOptions)}
    network = {"widths", "activation", "loss", "leaky-slope", "cost", "l2"}
    function = {"function", "inputs", "inputs-file", "wrt", "every-entry"}
    assert set(KEYS) == network | {"name", "grad-fn"} | function | options


FUNCTION_TABLE = """
[[check]]
name = "layer norm"
function = "layers/norm.py:forward"
grad-fn = "layers/norm.py:backward"
inputs = ["x=8x16", "gamma=16"]
inputs-file = "data/x.npz"
wrt = ["x", "gamma"]
points = 1
"""


def test_a_table_with_a_function_is_a_function_check_with_paths_from_the_file(tmp_path):
    (entry,) = load_checks(_write(tmp_path, "bpverify.toml", FUNCTION_TABLE))
    assert entry.spec is None and entry.name == "layer norm"
    assert entry.function == f"{tmp_path / 'layers' / 'norm.py'}:forward"
    assert entry.grad_fn == f"{tmp_path / 'layers' / 'norm.py'}:backward"
    assert entry.inputs_file == str(tmp_path / "data" / "x.npz")
    assert entry.inputs == ("x=8x16", "gamma=16") and entry.wrt == "x,gamma"
    assert entry.options.points == 1


@pytest.mark.parametrize(
    "change, says",
    [
        (("points = 1", "widths = [2, 1]"), "takes no widths"),
        (('grad-fn = "layers/norm.py:backward"', ""), "needs grad-fn"),
        (('inputs = ["x=8x16", "gamma=16"]\ninputs-file = "data/x.npz"', ""), "no inputs"),
        (('inputs = ["x=8x16", "gamma=16"]', "inputs = [3]"), "inputs must be strings"),
    ],
)
def test_a_function_table_that_cannot_work_names_the_fix(tmp_path, change, says):
    text = FUNCTION_TABLE.replace(*change)
    with pytest.raises(ConfigError, match=says):
        load_checks(_write(tmp_path, "bpverify.toml", text))


def test_load_checks_builds_each_network_and_its_options(tmp_path):
    path = _write(tmp_path, "pyproject.toml", PYPROJECT)
    first, second = load_checks(path)
    assert first.name == "two-layer tanh" and first.grad_fn is None
    assert first.spec.describe() == "L=2, widths 2,8,1, tanh, squared loss"
    assert first.options == CheckOptions(points=2, seed=3)
    assert second.name == "network 2" and second.options == CheckOptions(points=2, seed=7)
    assert second.spec.loss == "softmax-cross-entropy" and second.spec.widths == (3, 4, 2)
    assert second.grad_fn == f"{tmp_path / 'mynet' / 'grads.py'}:gradients"


def test_file_values_replace_the_base_options_and_grad_fn(tmp_path):
    path = _write(tmp_path, "bpverify.toml", BPVERIFY_TOML)
    base = CheckOptions(points=5, dtype="float64", method="richardson")
    (entry,) = load_checks(path, base, grad_fn="mine.py:grads")
    assert entry.options == CheckOptions(
        points=5, dtype="float32", method="richardson", avoid_kinks=True
    )
    assert entry.spec.activations == ("relu", "sigmoid") and entry.grad_fn == "mine.py:grads"


def test_the_leaky_slope_of_a_file_is_read_exactly(tmp_path):
    text = '[[check]]\nwidths = [2, 1]\nactivation = "leaky_relu"\nleaky-slope = 0.01\n'
    (entry,) = load_checks(_write(tmp_path, "bpverify.toml", text))
    assert str(entry.spec.leaky_slope) == "1/100"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('widths = [2, 1]\nactivation = "swish"', "unknown activation 'swish'"),
        ("widths = [2, 0, 1]", "width n_1 must be a whole number >= 1"),
        ("widths = [2, 1]\npoints = 0", "points must be a whole number >= 1, got 0"),
        ('widths = [2, 1]\nmethod = "forward"', "unknown method 'forward'"),
        ('widths = [2, 1]\ntargets = "one-hot"', "--targets one-hot: the squared loss takes real"),
    ],
)
def test_a_value_that_cannot_be_used_names_the_file_and_the_network(tmp_path, table, message):
    path = _write(tmp_path, "bpverify.toml", f'[[check]]\nname = "mine"\n{table}\n')
    with pytest.raises(ConfigError) as e:
        load_checks(path)
    assert str(e.value).startswith(f"{path}: mine: ") and message in str(e.value)


def test_settings_given_explicitly_win_over_the_file(tmp_path):
    """pytest's and pip's precedence: the command line, then the file, then the defaults."""
    text = BPVERIFY_TOML.replace("[[check]]", 'points = 2\ngrad-fn = "file.py:grads"\n\n[[check]]')
    path = _write(tmp_path, "bpverify.toml", text)
    base = CheckOptions(points=5, dtype="float64", method="richardson")
    (entry,) = load_checks(path, base, grad_fn="mine.py:grads", given={"dtype", "grad_fn"})
    # dtype and grad_fn given: theirs; points from the file; method from the base
    assert entry.options == CheckOptions(
        points=2, dtype="float64", method="richardson", avoid_kinks=True
    )
    assert entry.grad_fn == "mine.py:grads"
    (entry,) = load_checks(path, base, grad_fn="mine.py:grads")
    assert entry.options.dtype == "float32" and entry.grad_fn == f"{tmp_path / 'file.py'}:grads"


def test_a_file_too_deeply_nested_to_read_is_a_config_error(tmp_path):
    path = _write(tmp_path, "bpverify.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply to read; write the file flat"):
        load(path)
    (tmp_path / "project").mkdir()
    deep = "[tool]\nx = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n"
    _write(tmp_path / "project", "pyproject.toml", deep)
    with pytest.raises(ConfigError, match=r"pyproject\.toml: arrays or tables nested too deeply"):
        find(tmp_path / "project")


def test_one_hot_targets_from_the_file(tmp_path):
    text = '[[check]]\nwidths = [2, 3]\nloss = "softmax-cross-entropy"\ntargets = "one-hot"\n'
    (entry,) = load_checks(_write(tmp_path, "bpverify.toml", text))
    assert entry.options.targets == "one-hot"


def test_a_network_takes_its_cost_and_l2_from_the_file(tmp_path):
    text = '[[tool.bpverify.check]]\nwidths = "2,3,1"\ncost = "sum"\nl2 = 0.1\n'
    (check,) = load_checks(_write(tmp_path, "pyproject.toml", text))
    assert (check.spec.cost, str(check.spec.l2)) == ("sum", "1/10")
    with pytest.raises(ConfigError, match="l2"):
        load_checks(_write(tmp_path, "pyproject.toml", text.replace("0.1", "-1")))
