import importlib.util

from click.testing import CliRunner

from bpverify.cli.main import main


def test_without_the_extra_one_line_names_the_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        "bpverify.cli.serve.command.find_spec",
        lambda name: None if name == "fastapi" else real(name),
    )
    r = CliRunner().invoke(main, ["serve"])
    assert r.exit_code == 2
    assert r.output == 'bpverify serve: fastapi not installed: pip install "bpverify[serve]"\n'


def test_the_options_become_the_settings_of_the_app(monkeypatch):
    import pytest

    pytest.importorskip("uvicorn")
    seen = {}

    def run(app, host, port, **kwargs):
        seen.update(app=app, host=host, port=port)

    monkeypatch.setattr("uvicorn.run", run)
    args = ["serve", "--port", "8123", "--workers", "3", "--timeout", "2.5", "--queue", "0"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    settings = seen["app"].state.settings
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 8123)
    assert (settings.workers, settings.prove_seconds, settings.queue) == (3, 2.5, 0)


def test_a_bad_option_is_bad_input():
    r = CliRunner().invoke(main, ["serve", "--timeout", "0"])
    assert r.exit_code == 2 and "--timeout" in r.output
