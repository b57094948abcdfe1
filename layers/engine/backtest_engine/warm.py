"""What a warm worker keeps between invocations (docs/engine.md, "Warm caches").

A Lambda execution environment serves many invocations one after another; these
module-level stores live as long as it does (the local stack's worker sandboxes are
processes that do the same). Two stores, each an LRU bounded by the bytes of its arrays:

- ``CANDLE_FILES``: the parsed, validated candles of one year file, keyed by the reader's
  ``version(key)`` (S3: the object's URI, ETag and size, so a rewritten object is a
  different entry), with the source label ``describe(key)`` gave when it was read. A
  reader without ``version`` (a local directory, a dict) is read every time.
- ``INDICATORS``: indicator outputs, keyed by the identity of the loaded candles (symbol,
  timeframe, the version of every file read and the date window: ``SymbolData.identity``)
  plus the indicator, its resolved arguments and its source operand. Shards of one sweep
  on a warm worker share SMA(n) instead of computing it again; candles of another window
  or another file version never share an entry.

Sizes: ``CANDLE_CACHE_MB`` (default 128) and ``INDICATOR_CACHE_MB`` (default 256), read
once at import; 0 turns a store off. Cached arrays are read-only.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
MB = 1024 * 1024


def _mb_from_env(name: str, default: int) -> int:
    """Bytes of ``$name`` (whole megabytes; unset or unreadable → ``default``)."""
    try:
        return max(int(os.environ.get(name, default)), 0) * MB
    except ValueError:
        return default * MB


@dataclass
class CacheStats:
    """Counters of one store since it was created (or cleared)."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0


class ByteLru(Generic[T]):
    """A thread-safe LRU of immutable values, bounded by the total of their sizes in bytes
    (given on ``put``). A value larger than the bound is not kept."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._items: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> T | None:
        """The value (now the most recently used), or None."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.stats.misses += 1
                return None
            self._items.move_to_end(key)
            self.stats.hits += 1
            return found[0]

    def put(self, key: Hashable, value: T, size: int) -> None:
        """Keep ``value`` (``size`` bytes), evicting the least recently used beyond the
        bound."""
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, size)
            self._size += size
            while self._size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= dropped
                self.stats.evictions += 1

    @property
    def size_bytes(self) -> int:
        """Bytes held now."""
        return self._size

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._items.clear()
            self._size = 0
            self.stats = CacheStats()


CANDLE_FILES: ByteLru = ByteLru(_mb_from_env("CANDLE_CACHE_MB", 128))
INDICATORS: ByteLru = ByteLru(_mb_from_env("INDICATOR_CACHE_MB", 256))


def clear() -> None:
    """Empty both stores (tests; a cold start has them empty)."""
    CANDLE_FILES.clear()
    INDICATORS.clear()
