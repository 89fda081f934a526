"""bpverify train with nothing but --data: each bundled set's defaults train it, the summary
line names them, and every option given wins over them."""

import json

import pytest
from click.testing import CliRunner

from bpverify.cli.main import main

SEEDS = range(5)
# What a newcomer's first run must reach with no option but --data (and --seed): xor is four
# points, all learnt; the others are judged on the 20% held out.
GOALS = {"xor": "train_accuracy", "moons": "test_accuracy", "circles": "test_accuracy"}
GOALS["spirals"] = "test_accuracy"
FLOOR = {"xor": 1.0, "moons": 0.97, "circles": 0.97, "spirals": 0.97}


def run(*args):
    return CliRunner().invoke(main, ["train", *args])


def lines(result):
    assert result.exit_code == 0, result.output
    # with --json the summary line goes to stderr and stdout is the JSON object alone
    line = result.stderr.strip().splitlines()[-1]
    return line, json.loads(result.stdout)


def reached(data, seed):
    # seed 0 is the default: that run is the command exactly as a newcomer types it
    _, s = lines(run("--data", data, *(["--seed", str(seed)] if seed else []), "--json"))
    return s[GOALS[data]]


# Five seeds each take about 15 s in all (spirals 2 s a seed): small enough for every run.
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("data", sorted(GOALS))
def test_the_defaults_train_each_set_at_every_seed(data, seed):
    assert reached(data, seed) >= FLOOR[data]


def test_xor_with_the_seeds_widths_reaches_train_accuracy_one():
    line, s = lines(run("--data", "xor", "--widths", "2,4,1", "--json"))
    assert s["train_accuracy"] == 1.0 and s["network"].startswith("L=2, widths 2,4,1,")
    # the widths were given, so the default hidden widths were not used, nor named
    assert line.endswith("; xor defaults: --epochs 1000 --lr 0.03 --batch-size 0 --optimizer adam")


def test_the_summary_line_names_the_defaults_used():
    line, s = lines(run("--data", "moons", "--epochs", "3", "--json"))
    assert line.startswith("epochs 3, ")
    taken = "--hidden 16,16 --lr 0.03 --batch-size 0 --optimizer adam"
    assert line.endswith(f"; moons defaults: {taken}")
    assert s["epochs"] == 3 and s["network"].startswith("L=3, widths 2,16,16,1,")


def test_options_given_win_and_no_defaults_are_named():
    args = ["--hidden", "3", "--epochs", "2", "--lr", "0.5", "--batch-size", "8"]
    line, s = lines(run("--data", "circles", *args, "--optimizer", "sgd", "--json"))
    assert "defaults" not in line
    assert s["epochs"] == 2 and s["network"].startswith("L=2, widths 2,3,1,")


def test_a_file_needs_its_network(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n")
    r = run("--data", str(path))
    assert r.exit_code == 2
    assert "give the network with --hidden" in r.stderr.strip()
    assert len(r.stderr.strip().splitlines()) == 1
