"""The pytest plugin: the gradient_check fixture passes correct code and fails wrong code with
the per-tensor table."""

import subprocess
import sys
import textwrap


def run_pytest(tmp_path, body: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


BODY = """
    from bpverify.derive import NetworkSpec
    from bpverify.numeric import Program

    program = Program(NetworkSpec(2, (3, 4, 2), "tanh"))

    def right(params, X, Y):
        return program.gradients(params, X, Y)

    def wrong(params, X, Y):
        grads = program.gradients(params, X, Y)
        grads["b2"] = -grads["b2"]
        return grads

    def test_right(gradient_check):
        report = gradient_check((3, 4, 2), right, activation="tanh")
        assert report.passed

    def test_wrong(gradient_check):
        gradient_check((3, 4, 2), wrong, activation="tanh")
"""


def test_fixture_passes_right_code_and_fails_wrong_code_with_the_table(tmp_path):
    p = run_pytest(tmp_path, BODY)
    assert p.returncode == 1, p.stdout[-3000:]
    assert "1 failed, 1 passed" in p.stdout
    assert "b2      symbolic-user" in p.stdout
    assert "FAIL: 14 comparisons, 2 failed (b2 symbolic-user, b2 user-fd)" in p.stdout


def test_plugin_module_does_not_import_sympy():
    code = "import sys, bpverify.numeric.check.pytest_plugin; print('sympy' in sys.modules)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "False"


FUNCTION_BODY = """
    import numpy as np

    def forward(x):
        return np.sum(np.tanh(x) ** 2)

    def right(x):
        return 2 * np.tanh(x) * (1 - np.tanh(x) ** 2)

    def wrong(x):
        return 2 * np.tanh(x)

    def test_right(function_check):
        assert function_check(forward, right, {"x": (3, 2)}).passed

    def test_wrong(function_check):
        function_check(forward, wrong, {"x": (3, 2)})
"""


def test_function_fixture_passes_right_code_and_fails_wrong_code_with_the_table(tmp_path):
    p = run_pytest(tmp_path, FUNCTION_BODY)
    assert p.returncode == 1, p.stdout[-3000:]
    assert "1 failed, 1 passed" in p.stdout
    assert "x       user-traced" in p.stdout
