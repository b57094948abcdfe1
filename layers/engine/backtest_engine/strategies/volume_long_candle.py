"""``volume_long_candle``: buy a long bullish body on a volume spike (SPEC 3.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from ..candles import Candles
from .base import Signals, Strategy, StrategyParams, Tick


class VolumeLongCandleParams(StrategyParams):
    """Parameters of volume_long_candle (SPEC 3.2)."""

    vol_ma_window: int = Field(20, ge=1, le=1000, description="M: volume moving-average bars")
    vol_multiplier: float = Field(1.5, gt=0, le=100, description="k: volume ≥ k·MA")
    body_pct: float = Field(0.02, gt=0, le=1, description="β: (close − open)/open ≥ β")


def generate(candles: Candles, params: VolumeLongCandleParams, tick: Tick) -> Signals:
    """Signals with confidence ``min(volume / MA / k, 1)``; MA includes the current bar."""
    o, h, lo, c, v = candles.open, candles.high, candles.low, candles.close, candles.volume
    # pandas' rolling mean is compensated (no cumulative-sum drift); partial at the start.
    ma = pd.Series(v).rolling(params.vol_ma_window, min_periods=1).mean().to_numpy()
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
    tick(len(candles))
    return Signals.from_mask(mask, confidence)


STRATEGY = Strategy(
    name="volume_long_candle",
    description=(
        "BUY a bullish candle whose body is at least body_pct of the open, with short "
        "wicks, on volume at least vol_multiplier times its moving average."
    ),
    params_model=VolumeLongCandleParams,
    generate=generate,
)
