"""docs/tutorial.ipynb: stored without outputs, and run from top to bottom in a kernel of this
very Python (the one running the tests, where bpverify is installed)."""

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
kernelspec = pytest.importorskip("ipykernel.kernelspec")
pytest.importorskip("matplotlib")  # the notebook draws the loss curve

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
NOTEBOOK = DOCS / "tutorial.ipynb"
KERNEL = "bpverify-tutorial"


def read():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_the_notebook_is_stored_without_outputs():
    nb = read()
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_the_rendered_derivation_it_shows_is_in_docs():
    intro = read().cells[0].source
    assert "(tutorial-derivation.png)" in intro
    assert (DOCS / "tutorial-derivation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook run top to bottom, in docs/ as its folder, by a kernel of sys.executable.

    The kernel is registered in a temporary prefix (ipykernel's own ``install``, which writes
    sys.executable into its command), so that no python3 kernel of another environment, found
    on the Jupyter path of the machine, can run it instead.
    """
    prefix = tmp_path_factory.mktemp("jupyter")
    kernelspec.install(kernel_name=KERNEL, prefix=str(prefix))
    specs = KernelSpecManager(kernel_dirs=[str(prefix / "share" / "jupyter" / "kernels")])
    assert specs.get_kernel_spec(KERNEL).argv[0] == sys.executable
    manager = AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    nb = read()
    client = nbclient.NotebookClient(
        nb, km=manager, timeout=600, resources={"metadata": {"path": str(DOCS)}}
    )
    # A given kernel manager is left running by default; cleanup_kc shuts the kernel down and
    # closes its sockets. A failing cell raises CellExecutionError, naming the cell.
    client.execute(cleanup_kc=True)
    return nb


def outputs(nb, kind):
    """Every output of the code cells of ``kind``: stream text, or the data of one MIME type."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if kind == "stream" and out.output_type == "stream" and out.name == "stdout":
                found.append(out.text)
            elif kind != "stream" and kind in out.get("data", {}):
                found.append(out.data[kind])
    return found


def test_the_notebook_runs_from_top_to_bottom(executed):
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


def test_the_derivations_are_rendered_as_mathematics(executed):
    latex = "\n".join(outputs(executed, "text/latex"))
    # the one-neuron chain under the seed's names, and the sum over j for dC_0/da_k^(L-1)
    one_neuron = r"\frac{\partial C_0}{\partial w^{(L)}} = 2 a^{(L-1)} \left(a^{(L)} - y\right)"
    assert one_neuron + r" \sigma'\left(z^{(L)}\right)" in latex
    assert r"\frac{\partial C_0}{\partial a^{(2)}_{k}} = 2 \sum_{j=0}^{n_{3} - 1}" in latex
    assert "the difference simplifies to 0" in latex  # the self-check's summary


def test_training_draws_its_curve_and_learns_xor(executed):
    printed = "".join(outputs(executed, "stream"))
    assert "training accuracy 1.0\n" in printed
    assert len(outputs(executed, "image/png")) == 1


def test_the_check_is_a_table_and_the_proofs_have_their_verdicts(executed):
    (table,) = outputs(executed, "text/html")
    assert "<table>" in table and "<strong>PASS: " in table
    printed = "".join(outputs(executed, "stream"))
    assert printed.count("PROVED - ") == 2 and printed.count("REFUTED - ") == 1
    assert "hint: looks like the sum over j is missing" in printed
