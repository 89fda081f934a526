from bpverify.cli.serve.cache import Cache
from bpverify.derive import NetworkSpec


def test_the_least_recently_used_answer_goes_first():
    cache = Cache(2)
    cache.put("a", b"1")
    cache.put("b", b"2")
    assert cache.get("a") == b"1"  # a is now the most recent
    cache.put("c", b"3")
    assert cache.get("b") is None and cache.get("a") == b"1" and len(cache) == 2


def test_equal_network_specs_are_one_key():
    cache = Cache(4)
    cache.put((NetworkSpec(3), "all", True), b"derived")
    assert cache.get((NetworkSpec(layers=3, activations="sigmoid"), "all", True)) == b"derived"
    assert cache.get((NetworkSpec(3, cost="sum"), "all", True)) is None
