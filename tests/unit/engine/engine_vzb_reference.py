"""Plain per-window reference of the volume-zone resistance (docs/engine.md,
"volume_zone_breakout: the fast kernel and the tie rule"), bin by bin.

Deliberately literal and slow: the fast kernel in backtest_engine is checked against it.
Also used by bench/bench_engine.py to print the reference's speed.
"""

from __future__ import annotations

import math

import numpy as np

NEAR_TIE = 1e-7  # relative distance of a running sum from p·total counted as a tie


def reference_levels(span_low, span_high, volume, window: int, num_bins: int, p: float):
    """(R per bar, NaN where none; ``tie`` mask of bars whose R is an exact-ish tie)."""
    n = len(span_low)
    levels = np.full(n, np.nan)
    tie = np.zeros(n, dtype=bool)
    for i in range(window, n):
        lows = [float(x) for x in span_low[i - window:i]]
        highs = [float(x) for x in span_high[i - window:i]]
        vols = [float(x) for x in volume[i - window:i]]
        lo, hi = min(lows), max(highs)
        if lo == hi:
            continue
        edges = [lo + (hi - lo) * k / num_bins for k in range(num_bins + 1)]
        bins = _fill_bins(lows, highs, vols, edges, num_bins)
        total = math.fsum(bins)
        if total == 0:
            continue
        levels[i], tie[i] = _resistance(bins, edges, p, total)
    return levels, tie


def _fill_bins(lows, highs, vols, edges, num_bins):
    bins = [0.0] * num_bins
    for a, b, v in zip(lows, highs, vols, strict=True):
        if b == a:
            k = max(j for j in range(num_bins) if edges[j] <= a) if edges[0] <= a else 0
            bins[min(k, num_bins - 1)] += v
            continue
        for k in range(num_bins):
            overlap = min(b, edges[k + 1]) - max(a, edges[k])
            if overlap > 0:
                bins[k] += v * overlap / (b - a)
    return bins


def _resistance(bins, edges, p, total):
    running, near = 0.0, False
    for k in range(len(bins) - 1, -1, -1):
        running += bins[k]
        near = near or abs(running - p * total) <= NEAR_TIE * total
        if running >= p * total:
            return edges[k], near
    return edges[0], True  # p·total not reached by rounding: a tie by definition


def reference_signals(o, h, lo, c, v, window, num_bins, p, buffer, wicks):
    """Signal mask of volume_zone_breakout computed with ``reference_levels``."""
    span_low, span_high = (lo, h) if wicks else (np.minimum(o, c), np.maximum(o, c))
    levels, tie = reference_levels(span_low, span_high, v, window, num_bins, p)
    with np.errstate(invalid="ignore"):
        return h >= levels * (1 + buffer), levels, tie
