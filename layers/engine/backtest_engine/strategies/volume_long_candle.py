"""``volume_long_candle``: buy a long bullish body on a volume spike (docs/engine.md#strategies)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from backtest_contract.strategies import VOLUME_LONG_CANDLE, VolumeLongCandleParams

from ..candles import Candles
from .base import Masks, Strategy, Tick


def generate(candles: Candles, params: VolumeLongCandleParams, tick: Tick) -> Masks:
    """Entry mask with confidence ``min(volume / MA / k, 1)``; MA includes the current bar."""
    signals = _signals(candles, params, _volume_ma(candles, params.vol_ma_window))
    tick(len(candles))
    return signals


def generate_many(candles: Candles, params: list[VolumeLongCandleParams],
                  tick: Tick) -> Iterator[Masks]:
    """``generate`` for each parameter set; one volume MA per window M."""
    averages = {m: _volume_ma(candles, m) for m in dict.fromkeys(p.vol_ma_window for p in params)}
    tick(len(candles))
    return (_signals(candles, p, averages[p.vol_ma_window]) for p in params)


def _volume_ma(candles: Candles, window: int) -> np.ndarray:
    # pandas' rolling mean is compensated (no cumulative-sum drift); partial at the start.
    return pd.Series(candles.volume).rolling(window, min_periods=1).mean().to_numpy()


def _signals(candles: Candles, params: VolumeLongCandleParams, ma: np.ndarray) -> Masks:
    o, h, lo, c, v = candles.open, candles.high, candles.low, candles.close, candles.volume
    beta, k = params.body_pct, params.vol_multiplier
    with np.errstate(invalid="ignore", divide="ignore"):
        mask = (
            (ma > 0)
            & (v >= k * ma)
            & (c > o)
            & ((c - o) / o >= beta)
            & (np.maximum(h - c, 0.0) / o < 2 * beta)
            & (np.maximum(o - lo, 0.0) / o < 2 * beta)
        )
        confidence = np.minimum(v / ma / k, 1.0)
    return Masks(entry=mask, confidence=confidence)


STRATEGY = Strategy(
    name=VOLUME_LONG_CANDLE.name,
    description=VOLUME_LONG_CANDLE.description,
    params_model=VolumeLongCandleParams,
    generate=generate,
    generate_many=generate_many,
)
