"""The gradient check: three sources of a gradient (``exact``: the derived rules in 34 digits;
the generated code or the user's (``usercode``); ``finite`` differences), compared pairwise with
explained tolerances (``compare``), reported as a table, JSON or JUnit (``report``); ``run`` ties
them together, ``config`` reads ``[tool.bpverify]``, ``pytest_plugin`` offers the fixture."""
