"""Shell completion as docs/completion.md documents it: each shell's script, and bash really
completing ``bpverify de`` to ``derive``."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).with_name("bpverify")
DOC = Path(__file__).resolve().parents[1] / "docs" / "completion.md"

# What each shell's script must contain to register itself for bpverify.
SCRIPTS = {
    "bash": "complete -o nosort -F _bpverify_completion bpverify",
    "zsh": "compdef _bpverify_completion bpverify",
    "fish": "complete --no-files --command bpverify",
}


def env(**extra):
    e = dict(os.environ, **extra)
    e["PATH"] = f"{EXE.parent}{os.pathsep}{e['PATH']}"
    return e


def complete(var: str, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(EXE)], env=env(_BPVERIFY_COMPLETE=var, **extra), capture_output=True, text=True
    )


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_each_shell_gets_its_script_and_the_docs_show_the_command(shell):
    p = complete(f"{shell}_source")
    assert p.returncode == 0 and p.stderr == ""
    assert SCRIPTS[shell] in p.stdout
    assert f"_BPVERIFY_COMPLETE={shell}_source bpverify" in DOC.read_text()


def test_the_completion_protocol_offers_commands_options_and_choices():
    def offered(words: str, cword: int) -> list[str]:
        p = complete("bash_complete", COMP_WORDS=words, COMP_CWORD=str(cword))
        assert p.returncode == 0, p.stderr
        return p.stdout.split()

    assert offered("bpverify de", 1) == ["plain,derive"]
    assert "plain,--format" in offered("bpverify derive --fo", 2)
    assert offered("bpverify derive --format ", 3) == ["plain,latex", "plain,text", "plain,json"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_de_to_derive():
    # the script sourced as the docs say, then its function called as bash calls it on Tab
    script = (
        'eval "$(_BPVERIFY_COMPLETE=bash_source bpverify)"\n'
        "COMP_WORDS=(bpverify de); COMP_CWORD=1\n"
        "_bpverify_completion bpverify\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    p = subprocess.run(["bash", "-c", script], env=env(), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["derive"]
