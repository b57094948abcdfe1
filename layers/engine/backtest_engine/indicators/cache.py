"""One symbol's indicator values, each computed once and shared by every rule node and
every sweep combination that asks for the same (indicator, resolved args, source) — and,
when the candles have an identity (``SymbolData.identity``), by every later invocation of
a warm process on the same candles (``warm.INDICATORS``, docs/engine.md "Warm caches")."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import warm
from ..candles import Candles
from .functions import Outputs, compute


class IndicatorCache:
    """Indicator outputs of one symbol's ``candles``, keyed by name, resolved arguments and
    the canonical text of the resolved source operand. Cached arrays are read-only.

    ``computed`` counts computations, ``hits`` the requests answered from the cache
    (this one or, with ``identity``, the process's ``warm.INDICATORS``: ``identity`` must
    name exactly these candles).
    """

    def __init__(self, candles: Candles, identity: tuple | None = None):
        self.candles = candles
        self.identity = identity
        self.computed = 0
        self.hits = 0
        self._outputs: dict[tuple, Outputs] = {}
        self._prices: dict[str, np.ndarray] = {}

    def indicator(self, name: str, args: dict, source_key: str | None,
                  source: Callable[[], np.ndarray] | None) -> Outputs:
        """Outputs of ``name``; ``source()`` is called only when they are not cached yet."""
        key = (name, tuple(sorted(args.items())), source_key)
        found = self._outputs.get(key)
        shared = None if self.identity is None else (self.identity, key)
        if found is None and shared is not None:
            found = warm.INDICATORS.get(shared)
            if found is not None:
                self._outputs[key] = found
        if found is not None:
            self.hits += 1
            return found
        outputs = compute(name, args, None if source is None else source(), self.candles)
        for values in outputs.values():
            values.flags.writeable = False
        self._outputs[key] = outputs
        self.computed += 1
        if shared is not None:
            warm.INDICATORS.put(shared, outputs, sum(v.nbytes for v in outputs.values()))
        return outputs

    def price(self, field: str) -> np.ndarray:
        """A price column, or hl2 = (h+l)/2, hlc3 = (h+l+c)/3, ohlc4 = (o+h+l+c)/4."""
        found = self._prices.get(field)
        if found is None:
            c = self.candles
            derived = {"hl2": lambda: (c.high + c.low) / 2,
                       "hlc3": lambda: (c.high + c.low + c.close) / 3,
                       "ohlc4": lambda: (c.open + c.high + c.low + c.close) / 4}
            found = derived[field]() if field in derived else getattr(c, field)
            self._prices[field] = found
        return found

    def __len__(self) -> int:
        return len(self._outputs)
