"""The data set tests' check of a DataError: one line naming the problem and the fix."""

import pytest

from bpverify.numeric.train.dataset import DataError


@pytest.fixture
def data_error():
    """``data_error(words, call, *args, **kwargs)``: the message of the DataError that
    ``call(*args, **kwargs)`` raises, checked to be one line containing every one of ``words``."""

    def check(words, call, *args, **kwargs):
        with pytest.raises(DataError) as info:
            call(*args, **kwargs)
        message = str(info.value)
        assert "\n" not in message
        for word in words:
            assert word in message, (word, message)
        return message

    return check
