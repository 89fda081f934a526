"""cli.files: output files are written whole or not at all."""

import click
import pytest

from bpverify.cli import files


def test_a_path_in_an_existing_directory_is_writable(tmp_path):
    assert files.check_writable(tmp_path / "out.tex") == tmp_path / "out.tex"


def test_a_missing_directory_is_named_with_the_fix(tmp_path):
    with pytest.raises(click.BadParameter, match="does not exist: create it or choose another"):
        files.check_writable(tmp_path / "nowhere" / "out.tex")


def test_a_directory_is_not_a_file_name(tmp_path):
    with pytest.raises(click.BadParameter, match="is a directory: give a file name"):
        files.check_writable(tmp_path)


def test_write_text_atomic_replaces_the_file_in_utf8(tmp_path):
    out = tmp_path / "eq.txt"
    out.write_text("old")
    files.write_text_atomic(out, "∂C/∂a\n")
    assert out.read_bytes() == "∂C/∂a\n".encode()
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_or_failed_write_leaves_the_old_file(tmp_path, error):
    out = tmp_path / "keep.tex"
    out.write_text("precious")

    def interrupted(tmp):
        tmp.write_text("half")
        raise error

    with pytest.raises(error):
        files.write_atomic(out, interrupted)
    assert out.read_text() == "precious"
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind
