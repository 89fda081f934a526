from importlib.metadata import distribution, packages_distributions


def test_distribution_provides_only_bpverify_names():
    names = {name for name, dists in packages_distributions().items() if "bpverify" in dists}
    assert names == {"bpverify"}
    top = (
        set(distribution("bpverify").read_text("top_level.txt").split())
        if distribution("bpverify").read_text("top_level.txt")
        else {"bpverify"}
    )
    assert not top & {"cli", "numeric", "derive"}


def test_import_names():
    import bpverify.cli
    import bpverify.derive
    import bpverify.numeric

    assert bpverify.derive.derive_network
    assert bpverify.cli.__name__ == "bpverify.cli"
    assert bpverify.numeric.__name__ == "bpverify.numeric"
