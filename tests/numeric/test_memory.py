"""numeric.memory: estimates made before a check or a training run allocates, and the refusal
past the memory limit."""

import subprocess
import sys

import pytest

from bpverify.derive.limits import LimitError
from bpverify.numeric import memory
from bpverify.numeric.check.run import check_gradients


def test_the_estimates_count_parameters_and_units_per_sample():
    # (2,3,1): 9 + 4 parameters, 6 units per sample
    assert memory.check_bytes((2, 3, 1), batch=4) == 13 * 1000 + 4 * 6 * 2000
    assert memory.training_bytes((2, 3, 1), samples=10) == 13 * 48 + 10 * 6 * 32
    assert memory.data_bytes(10, 3) == 10 * 3 * 32


def test_past_the_limit_the_message_names_the_estimate_the_fix_and_the_variable(monkeypatch):
    monkeypatch.setenv("BPVERIFY_MAX_MEMORY", "1")
    memory.require(2**20, "this", "do less")  # at the limit: accepted
    with pytest.raises(LimitError) as e:
        memory.require(3 * 2**20, "this run", "do less")
    assert str(e.value) == (
        "this run needs about 3 MiB, more than the 1 MiB accepted: do less, or raise the limit "
        "with BPVERIFY_MAX_MEMORY=MIB if the machine has the memory"
    )


@pytest.mark.parametrize(
    ("widths", "batch", "fix"),
    [((2, 3, 1), 10**9, "give a smaller --batch"), ((5000, 5000), 4, "check a smaller network")],
)
def test_check_gradients_refuses_before_it_allocates(widths, batch, fix):
    with pytest.raises(LimitError, match=f"needs about .* MiB, more than the 4096 MiB .*: {fix}"):
        check_gradients(widths, batch=batch)


PEAK = """
import resource, sys
from bpverify.numeric.check.run import check_gradients
from bpverify.numeric.train import datasets, session
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
{run}
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) * 1024)
"""


def _peak(run: str) -> int:
    """Bytes a fresh interpreter's peak resident size grew by while running ``run``."""
    code = PEAK.format(run=run)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.parametrize(
    ("widths", "batch", "sample"),
    [((2, 3, 1), 10_000, None), ((1000, 100, 10), 4, 3)],
    ids=["batch", "parameters"],
)
def test_a_check_takes_less_than_its_estimate(widths, batch, sample):
    """The constants are measured peaks rounded up: a run let through fits (ratios, not time)."""
    run = f"check_gradients({widths}, points=1, batch={batch}, sample={sample})"
    assert _peak(run) < memory.check_bytes(widths, batch)


def test_a_training_run_takes_less_than_its_estimate():
    run = """
import numpy as np
from bpverify.numeric.codegen.program import Program
from bpverify.numeric.init import init_params
from bpverify.numeric.train.loop import train
from bpverify.numeric.train.optim import make_optimizer
rng = np.random.default_rng(0)
ds = datasets.load("moons", n=100_000, rng=rng)
train_set, test_set = ds.split(0.2, rng)
(X, Y), (X_test, Y_test) = train_set.astype("float64"), test_set.astype("float64")
spec = session.network_for(ds, hidden="64,64")
params = init_params(spec.widths, spec.activations, rng)
train(Program(spec), params, X, Y, optimizer=make_optimizer("adam", 0.01), epochs=1,
      batch_size=None, rng=rng, X_test=X_test, Y_test=Y_test)
"""
    estimate = memory.data_bytes(100_000, 3) + memory.training_bytes((2, 64, 64, 1), 100_000)
    assert _peak(run) < estimate
