"""``bpverify serve``: the derivation-verification service, a JSON API and a web page.

One job per module: ``command`` (the click command), ``settings`` (the limits table), ``app``
(the routes), ``models`` (the request bodies), ``errors`` (every failure as JSON), ``pool``
(worker processes on budgets), ``jobs`` (what the workers run), ``cache`` (derivations kept by
network), ``mathml`` (LaTeX as MathML), ``page`` (the web page and the API docs page, from
``static/``). Only ``command`` and ``settings`` load without the ``serve`` extra.
"""

from .command import serve

__all__ = ["serve"]
