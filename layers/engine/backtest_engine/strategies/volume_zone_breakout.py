"""``volume_zone_breakout``: buy when the high breaks the resistance of the recent volume
profile (SPEC 3.1)."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..candles import Candles
from ._profile import resistance_levels
from .base import Signals, Strategy, StrategyParams, Tick


class VolumeZoneBreakoutParams(StrategyParams):
    """Parameters of volume_zone_breakout (SPEC 3.1)."""

    volume_window: int = Field(10, ge=1, le=1000, description="W: bars in the profile window")
    top_percentile: float = Field(
        0.2, gt=0, le=1, description="p: share of window volume at/above the resistance"
    )
    breakout_buffer: float = Field(0.0, ge=0, le=1, description="b: signal iff high ≥ R·(1+b)")
    num_bins: int = Field(20, ge=1, le=200, description="K: equal-width price bins")
    include_wicks: bool = Field(True, description="spans are [low, high] (else the body)")


def generate(candles: Candles, params: VolumeZoneBreakoutParams, tick: Tick) -> Signals:
    """Signals and confidence ``min(0.5 + (high − L)/L, 1)`` with L = R·(1+b)."""
    if params.include_wicks:
        span_low, span_high = candles.low, candles.high
    else:
        span_low = np.minimum(candles.open, candles.close)
        span_high = np.maximum(candles.open, candles.close)
    levels = resistance_levels(span_low, span_high, candles.volume, params.volume_window,
                               params.num_bins, params.top_percentile, tick)
    trigger = levels * (1.0 + params.breakout_buffer)
    with np.errstate(invalid="ignore", divide="ignore"):
        mask = candles.high >= trigger  # NaN levels compare false
        confidence = np.minimum(0.5 + (candles.high - trigger) / trigger, 1.0)
    return Signals.from_mask(mask, confidence)


STRATEGY = Strategy(
    name="volume_zone_breakout",
    description=(
        "Per-window volume profile: BUY when the bar's high reaches the price above which "
        "the top share of the previous W bars' volume traded (times 1 + buffer)."
    ),
    params_model=VolumeZoneBreakoutParams,
    generate=generate,
)
