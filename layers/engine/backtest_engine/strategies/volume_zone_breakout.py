"""``volume_zone_breakout``: buy when the high breaks the resistance of the recent volume
profile (docs/engine.md#strategies)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from backtest_contract.strategies import VOLUME_ZONE_BREAKOUT, VolumeZoneBreakoutParams

from ..candles import Candles
from ._profile import resistance_levels, resistance_levels_many
from .base import Masks, Strategy, Tick


def generate(candles: Candles, params: VolumeZoneBreakoutParams, tick: Tick) -> Masks:
    """Entry mask and confidence ``min(0.5 + (high − L)/L, 1)`` with L = R·(1+b)."""
    span_low, span_high = _spans(candles, params.include_wicks)
    levels = resistance_levels(span_low, span_high, candles.volume, params.volume_window,
                               params.num_bins, params.top_percentile, tick)
    return _breakouts(candles, levels, params.breakout_buffer)


def generate_many(candles: Candles, params: list[VolumeZoneBreakoutParams],
                  tick: Tick) -> Iterator[Masks]:
    """``generate`` for each parameter set; the profile work of one (include_wicks, W, K)
    is shared by every p, b and H (``resistance_levels_many``)."""
    groups: dict[tuple[bool, int, int], list[float]] = {}
    for p in params:
        groups.setdefault((p.include_wicks, p.volume_window, p.num_bins), []).append(
            p.top_percentile)
    levels: dict[tuple[bool, int, int, float], np.ndarray] = {}
    for (wicks, window, bins), fractions in groups.items():
        span_low, span_high = _spans(candles, wicks)
        for p, lv in resistance_levels_many(span_low, span_high, candles.volume, window,
                                            bins, fractions, tick).items():
            levels[(wicks, window, bins, p)] = lv
    # A generator: a sweep of thousands never holds every combination's masks at once.
    return (_breakouts(candles, levels[(p.include_wicks, p.volume_window, p.num_bins,
                                        p.top_percentile)], p.breakout_buffer)
            for p in params)


def _spans(candles: Candles, include_wicks: bool) -> tuple[np.ndarray, np.ndarray]:
    if include_wicks:
        return candles.low, candles.high
    return np.minimum(candles.open, candles.close), np.maximum(candles.open, candles.close)


def _breakouts(candles: Candles, levels: np.ndarray, buffer: float) -> Masks:
    trigger = levels * (1.0 + buffer)
    with np.errstate(invalid="ignore", divide="ignore"):
        mask = candles.high >= trigger  # NaN levels compare false
        confidence = np.minimum(0.5 + (candles.high - trigger) / trigger, 1.0)
    return Masks(entry=mask, confidence=confidence)


STRATEGY = Strategy(
    name=VOLUME_ZONE_BREAKOUT.name,
    description=VOLUME_ZONE_BREAKOUT.description,
    params_model=VolumeZoneBreakoutParams,
    generate=generate,
    generate_many=generate_many,
)
