import pytest

from bpverify.cli.serve.settings import Settings


def test_the_defaults_bound_every_request():
    s = Settings()
    assert s.workers >= 1 and 0 < s.prove_seconds <= s.build_seconds and s.max_body >= 1024


@pytest.mark.parametrize(
    "bad", [{"workers": 0}, {"queue": -1}, {"prove_seconds": 0}, {"max_body": 0}]
)
def test_a_setting_that_cannot_work_is_refused(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        Settings(**bad)
