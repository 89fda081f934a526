"""The parts of ``benchmarks/gradient_bench.py``, one job each: ``timing`` (how a call is timed),
``threads`` (numpy's BLAS threads, jax's start), ``baselines`` (the problem and the other
implementations), ``products`` (the matrix products the generated code computes), ``measure``
(one pass over the sizes) and ``report`` (the Markdown)."""
