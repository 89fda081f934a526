from importlib.metadata import distributions, packages_distributions
from pathlib import Path

import pytest

import bpverify.derive


def test_distribution_provides_only_the_bpverify_import_name():
    # Top-level import names that come from this distribution: bpverify alone, never cli,
    # numeric or derive, which other distributions ship too.
    names = {name for name, dists in packages_distributions().items() if "bpverify" in dists}
    assert names == {"bpverify"}


def test_packages_are_bpverify_derive_numeric_and_cli():
    # The installed record, read beside the installed package: a build leaves a bpverify.egg-info
    # in the source folder, which importlib.metadata would find first from there.
    site = Path(bpverify.derive.__file__).resolve().parents[2]
    found = [d for d in distributions(path=[str(site)]) if d.metadata["Name"] == "bpverify"]
    if not found:
        pytest.skip("an editable install: the package is the source folder, not an install")
    files = [str(f) for f in found[0].files if str(f).endswith(".py")]
    packages = {f.rsplit("/", 1)[0] for f in files if "/" in f}
    assert {"bpverify/derive", "bpverify/numeric", "bpverify/cli"} <= packages
    assert not any(f.split("/")[0] in {"cli", "numeric", "derive"} for f in files)


def test_import_names():
    import bpverify.cli
    import bpverify.numeric

    assert bpverify.derive.derive_network
    assert bpverify.cli.__name__ == "bpverify.cli"
    assert bpverify.numeric.__name__ == "bpverify.numeric"
