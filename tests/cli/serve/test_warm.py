from bpverify.derive.prove import verdict


def test_importing_it_leaves_the_default_network_derived_for_every_worker_forked_after():
    verdict._derivation.cache_clear()
    import importlib

    from bpverify.cli.serve import warm

    importlib.reload(warm)  # the import is what the forkserver does
    assert verdict._derivation.cache_info().currsize >= 1
    hits = verdict._derivation.cache_info().hits
    verdict._derivation(warm.DEFAULT)
    assert verdict._derivation.cache_info().hits == hits + 1
