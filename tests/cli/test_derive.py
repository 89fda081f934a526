import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bpverify.cli.main import main


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_default_prints_every_layer_in_index_and_matrix_form():
    r = run("derive", "--layers", "3")
    assert r.exit_code == 0, r.output
    out = r.stdout
    heads = [line for line in out.splitlines() if line.startswith("% layer")]
    assert [h.split(",")[0] for h in heads] == ["% layer 3"] * 2 + ["% layer 2"] * 2 + [
        "% layer 1"
    ] * 2
    assert "index form" in heads[0] and "matrix form" in heads[1]
    seed = r"\frac{\partial C_0}{\partial w^{(3)}_{jk}} &= 2 \left(a^{(3)}_{j} - y_{j}\right)"
    assert seed in out
    assert r"\frac{\partial C}{\partial W^{(1)}} &= \delta^{(1)} a^{(0)T}" in out
    assert "% verified against SymPy's derivative of the unrolled network" in out


def test_json_has_one_record_per_layer_quantity_and_form():
    r = run("derive", "--layers", "2", "--widths", "2,3,1", "--format", "json", "--form", "matrix")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    recs = data["gradients"]
    assert [(g["layer"], g["quantity"]) for g in recs] == [
        (l, q) for l in (2, 1) for q in ("delta", "W", "b", "a")
    ]
    assert all({"layer", "quantity", "latex", "sympy", "form"} <= set(g) for g in recs)
    assert recs[1]["sympy"] == "delta2*a1.T"
    assert data["verification"]["ok"] is True


def test_text_format_is_unicode():
    r = run("derive", "--layers", "1", "--format", "text", "--form", "index")
    assert r.exit_code == 0
    assert "σ'" in r.stdout


def test_unrolled_form_lists_every_entry():
    r = run(
        "derive", "--widths", "1,1,1,1", "--form", "unrolled", "--format", "json", "--no-verify"
    )
    assert r.exit_code == 0, r.output
    recs = json.loads(r.stdout)["gradients"]
    assert len(recs) == 6 and recs[0]["name"] == "dC_0/dW3[0,0]"


def test_output_file_is_a_complete_latex_document(tmp_path):
    out = tmp_path / "grads.tex"
    r = run("derive", "--layers", "2", "-o", str(out))
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert text.startswith(r"\documentclass{article}") and r"\usepackage{amsmath}" in text
    assert text.rstrip().endswith(r"\end{document}")
    assert not list(tmp_path.glob(".grads.tex.*"))  # no temporary file left behind


def test_latex_document_compiles(tmp_path):
    import shutil

    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    out = tmp_path / "grads.tex"
    assert (
        run(
            "derive", "--widths", "2,3,2", "--loss", "softmax-cross-entropy", "-o", str(out)
        ).exit_code
        == 0
    )
    p = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", out.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stdout[-2000:]
    assert (tmp_path / "grads.pdf").stat().st_size > 1000


def test_render_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "eq.png"
    r = run("derive", "--layers", "1", "--render", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--layers", "2", "--activation", "swish"], "unknown activation 'swish' for layer 1"),
        (["--layers", "2", "--widths", "2,3"], "2 widths given for 2 layers"),
        (["--widths", "2,x,1"], "width 'x' in '2,x,1' is not a whole number"),
        (["--layers", "2", "--loss", "hinge"], "unknown loss 'hinge'"),
        (["--layers", "3", "--activation", "relu,tanh"], "2 activations given for 3 layers"),
        (["--layers", "0"], "layers must be a whole number >= 1"),
        (["--layers", "two"], "'two' is not a valid integer"),
        ([], "give the depth with --layers L"),
        (["--layers", "2", "--form", "unrolled"], "the unrolled form needs concrete widths"),
        (
            ["--layers", "1", "-o", "/no/such/dir/out.tex"],
            "directory '/no/such/dir' does not exist",
        ),
        (["--layers", "1", "--render", "out.gif"], "give a file ending in .png, .svg, .pdf"),
        (["--layers", "1", "--leaky-slope", "abc"], "--leaky-slope 'abc' is not a number"),
        (["--layers", "1", "--bogus"], "bpverify derive: No such option '--bogus'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, message):
    r = run("derive", *args)
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert message in lines[0]
    assert "Traceback" not in r.output


def test_failed_run_leaves_an_existing_output_file_intact(tmp_path):
    out = tmp_path / "keep.tex"
    out.write_text("precious")
    r = run("derive", "--layers", "2", "--activation", "swish", "-o", str(out))
    assert r.exit_code == 2
    assert out.read_text() == "precious"


def test_output_and_render_on_one_path_are_refused_before_the_derivation(tmp_path):
    same = str(tmp_path / "eq.png")
    r = run("derive", "--layers", "1", "-o", same, "--render", same)
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1, r.output
    assert "-o and --render both write" in r.stderr
    assert not (tmp_path / "eq.png").exists()


# -- size limits and the time budget --------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (("--layers", "100000"), "a network of 100000 layers is more than the 1000 accepted"),
        (("--widths", ",".join(["1"] * 20001)), "--widths with 20001 entries (20000 layers)"),
        (("--widths", "1" + "0" * 4000 + ",2"), "--widths: a width of 4001 digits"),
        (("--layers", "2", "--leaky-slope", "1e999999999"), "the decimal exponent 999999999"),
        (("--layers", "2", "--leaky-slope", "1/0"), "--leaky-slope 1/0 divides by zero"),
    ],
)
def test_a_network_past_a_limit_is_refused_in_one_line_before_any_work(args, message):
    r = run("derive", *args)
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert message in line and "Traceback" not in r.stderr


def test_a_derivation_past_its_budget_stops_with_exit_2_naming_timeout():
    r = run("derive", "--layers", "200", "--timeout", "1")
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "bpverify derive: the derivation did not finish within the 1 s budget (--timeout 1): "
        "give it more time"
    )


def test_the_limits_are_raised_by_their_environment_variable():
    r = CliRunner().invoke(
        main, ["derive", "--layers", "2", "--format", "text"], env={"BPVERIFY_MAX_LAYERS": "1"}
    )
    assert r.exit_code == 2 and "BPVERIFY_MAX_LAYERS=N" in r.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB on Linux")
def test_a_hundred_thousand_layers_stay_under_a_gigabyte():
    # as a subprocess, so that its peak memory is measured alone
    code = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run([sys.executable, '-c', 'from bpverify.cli.main import main; main()',"
        " 'derive', '--layers', '100000'], capture_output=True)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    code, peak_kib = map(int, p.stdout.split())
    assert code == 2 and peak_kib < 2**20, p.stdout
