"""The ``bpverify`` command line: a thin click shell over bpverify.derive and bpverify.numeric."""
