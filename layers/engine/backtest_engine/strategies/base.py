"""What a strategy is: a parameter model (from the shared contract) and a pure function
from candles to per-bar **masks** — where it wants to enter, optionally where it wants to
exit, and (built-ins) a confidence per bar. The position simulator (``backtest_engine.sim``,
docs/positions.md) turns masks into trades."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from ..candles import Candles

Tick = Callable[[int], None]
"""Called by a strategy with the number of further bars it has processed (for progress)."""


@dataclass(frozen=True)
class Masks:
    """One symbol's masks, each of length n: ``entry`` (bool), ``exit`` (bool or None: the
    strategy never asks to exit) and ``confidence`` (float 0..1 per bar, or None: 1.0)."""

    entry: np.ndarray
    exit: np.ndarray | None = None
    confidence: np.ndarray | None = None

    @property
    def entry_index(self) -> np.ndarray:
        """Bar indices where ``entry`` is true (int64, ascending)."""
        return np.flatnonzero(self.entry).astype(np.int64)

    def confidence_at(self, index: np.ndarray) -> np.ndarray:
        """Confidence of the bars ``index`` (1.0 without a confidence series)."""
        if self.confidence is None:
            return np.ones(index.shape[0])
        return np.asarray(self.confidence, dtype=np.float64)[index]


Generate = Callable[[Candles, BaseModel, Tick], Masks]
GenerateMany = Callable[[Candles, list, Tick], Iterator[Masks]]


@dataclass(frozen=True)
class Strategy:
    """A runnable strategy. ``generate(candles, params, tick) -> Masks`` is pure;
    ``generate_many`` (optional) returns, for a list of parameter sets, exactly what
    ``generate`` returns for each, sharing the work they have in common (a sweep)."""

    name: str
    description: str
    params_model: type[BaseModel]
    generate: Generate
    generate_many: GenerateMany | None = None
    ref: Any = None  # the contract's StrategyRef of a rule document (its length checks)
    uses_cache: bool = False  # generate(candles, params, tick, cache): rule documents

    def masks(self, candles: Candles, params: BaseModel, tick: Tick,
              cache: Any = None) -> Masks:
        """``generate`` with the symbol's IndicatorCache when the strategy reads one."""
        if self.uses_cache:
            return self.generate(candles, params, tick, cache)  # type: ignore[call-arg]
        return self.generate(candles, params, tick)

    def masks_for(self, candles: Candles, params: list, tick: Tick,
                  cache: Any = None) -> Iterator[Masks]:
        """Masks of every parameter set in ``params``, in order, one at a time (a sweep of
        thousands never holds every combination's masks at once)."""
        if self.generate_many is not None:
            yield from self.generate_many(candles, params, tick)
            return
        for p in params:
            yield self.masks(candles, p, tick, cache)
