from importlib.metadata import distribution, packages_distributions

import pytest


def test_distribution_provides_only_the_bpverify_import_name():
    # Top-level import names that come from this distribution: bpverify alone, never cli,
    # numeric or derive, which other distributions ship too.
    names = {name for name, dists in packages_distributions().items() if "bpverify" in dists}
    assert names == {"bpverify"}


def test_packages_are_bpverify_derive_numeric_and_cli():
    files = [str(f) for f in distribution("bpverify").files if str(f).endswith(".py")]
    if not any(f.startswith("bpverify/") for f in files):
        pytest.skip("an editable install lists its sources, not the installed package files")
    packages = {f.rsplit("/", 1)[0] for f in files if "/" in f}
    assert {"bpverify/derive", "bpverify/numeric", "bpverify/cli"} <= packages
    assert not any(f.split("/")[0] in {"cli", "numeric", "derive"} for f in files)


def test_import_names():
    import bpverify.cli
    import bpverify.derive
    import bpverify.numeric

    assert bpverify.derive.derive_network
    assert bpverify.cli.__name__ == "bpverify.cli"
    assert bpverify.numeric.__name__ == "bpverify.numeric"
