"""The derivations answered, kept by network: a repeated ``derive`` is served from memory.

A bounded least-recently-used map from the request's key (the ``NetworkSpec``, which is frozen
and hashable, with the form and whether the rules were verified) to the encoded answer. It is a
cache, not state: a server that restarts, or another server behind the same load balancer,
derives the network again and gives the same answer.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class Cache:
    """At most ``size`` answers; the least recently used goes first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> bytes | None:
        """The answer kept for ``key``, or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: bytes) -> None:
        """Keep ``value`` for ``key``, forgetting the least recently used beyond ``size``."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
