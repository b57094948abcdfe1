"""What a strategy is: a typed parameter model (from the shared contract,
``backtest_contract.strategies``) and a pure signal function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backtest_contract.strategies import StrategyParams

from ..candles import Candles

Tick = Callable[[int], None]
"""Called by a strategy with the number of further bars it has processed (for progress)."""


@dataclass(frozen=True)
class Signals:
    """BUY signals of one symbol: bar indices (int64, ascending) and confidences (0..1)."""

    index: np.ndarray
    confidence: np.ndarray

    @staticmethod
    def from_mask(mask: np.ndarray, confidence: np.ndarray) -> Signals:
        """Signals at the true entries of ``mask``; ``confidence`` is per bar (full length)."""
        index = np.flatnonzero(mask).astype(np.int64)
        return Signals(index, np.asarray(confidence, dtype=np.float64)[index])


GenerateMany = Callable[[Candles, list[StrategyParams], Tick], list[Signals]]


@dataclass(frozen=True)
class Strategy:
    """A registered strategy. ``generate(candles, params, tick) -> Signals`` is pure.

    ``generate_many`` (optional) returns, for a list of parameter sets, exactly what
    ``generate`` returns for each, sharing the work they have in common (a sweep).
    """

    name: str
    description: str
    params_model: type[StrategyParams]
    generate: Callable[[Candles, StrategyParams, Tick], Signals]
    generate_many: GenerateMany | None = None

    def signals_for(self, candles: Candles, params: list[StrategyParams],
                    tick: Tick) -> list[Signals]:
        """Signals of every parameter set in ``params``, in order."""
        if self.generate_many is not None:
            return self.generate_many(candles, params, tick)
        return [self.generate(candles, p, tick) for p in params]
