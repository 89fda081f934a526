"""The one exception for bad input, at the bottom of the flow so that every layer can raise it.

A specification, claim, data file, model file, option or configuration that cannot be used as
given raises a subclass of ``InputError`` (``SpecError``, ``ClaimError``, ``DataError``,
``ConfigError``, ...) whose message is one line naming the problem and the fix. ``bpverify``
prints that line and exits with code 2. Anything else (training that diverges, a failure inside
the user's code during a check, a bug) is not bad input and is not an ``InputError``.
"""


class InputError(ValueError):
    """Input that cannot be used as given; the message is one line naming the problem and the fix.

    A ``ValueError``, so that callers catching ``ValueError`` for a bad argument still do.

    Example:
        >>> from bpverify.derive import InputError, NetworkSpec
        >>> try:
        ...     NetworkSpec(layers=0)
        ... except InputError as e:
        ...     print(e)
        layers must be a whole number >= 1, got 0
    """
