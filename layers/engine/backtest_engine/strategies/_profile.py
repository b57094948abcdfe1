"""Vectorised resistance levels of the per-window volume profile (SPEC 3.1 steps 1-3).

Instead of filling K bins per window, use that the volume at or above a price x,
``A(x) = Σ v·clip(span_high − max(span_low, x), 0)/height  +  Σ_flat v·[price ≥ x]``,
is non-increasing in x and equals the top-down running bin sum at a bin's lower edge.
So R = e_k for the largest k with A(e_k) ≥ p·total, found by bisection over k in
ceil(log2 K) steps, for all windows of a chunk at once. Cost: O(n·W·log K), no Python loop
over bars. Ties: a running sum within ``TIE_TOLERANCE``·total below p·total counts as
reaching it, so float rounding (which differs between this form and per-bin sums) does not
decide exact mathematical ties.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

TIE_TOLERANCE = 1e-9
"""Relative slack of the ``running sum ≥ p·total`` test (see module docstring)."""

_CHUNK_ELEMENTS = 1 << 18  # windows × W per chunk: ~2 MB per float64 temporary


def resistance_levels(
    span_low: np.ndarray,
    span_high: np.ndarray,
    volume: np.ndarray,
    window: int,
    num_bins: int,
    top_fraction: float,
    tick: Callable[[int], None] = lambda _n: None,
) -> np.ndarray:
    """Resistance R for every bar i from the ``window`` bars before it (NaN where none).

    R[i] is NaN for i < window, when the window's price range is flat, or when its total
    volume is 0. ``tick(k)`` is called after each chunk with the bars completed.
    """
    n = span_low.shape[0]
    out = np.full(n, np.nan)
    if n <= window:
        tick(n)
        return out
    tick(window)
    height = span_high - span_low
    flat = height == 0
    density = np.where(flat, 0.0, volume / np.where(flat, 1.0, height))
    views = [sliding_window_view(a, window)[: n - window]
             for a in (span_low, span_high, density, np.where(flat, volume, 0.0), volume)]
    has_flat = sliding_window_view(flat, window)[: n - window].any(axis=1)
    rows = max(1, _CHUNK_ELEMENTS // window)
    for start in range(0, n - window, rows):
        stop = min(start + rows, n - window)
        chunk = [v[start:stop] for v in views]
        out[window + start: window + stop] = _chunk_levels(
            *chunk, has_flat[start:stop], num_bins, top_fraction)
        tick(stop - start)
    return out


def _chunk_levels(lows, highs, density, flat_volume, volume, has_flat, num_bins, top_fraction):
    """R for a chunk of windows (arrays shaped windows × W)."""
    lo = lows.min(axis=1)
    hi = highs.max(axis=1)
    total = volume.sum(axis=1)
    threshold = top_fraction * total - TIE_TOLERANCE * total
    any_flat = bool(has_flat.any())
    k_lo = np.zeros(lo.shape[0], dtype=np.int64)
    k_hi = np.full(lo.shape[0], num_bins - 1, dtype=np.int64)
    for _ in range(math.ceil(math.log2(num_bins)) if num_bins > 1 else 0):
        mid = (k_lo + k_hi + 1) // 2
        edge = lo + (hi - lo) * mid / num_bins
        above = _volume_above(lows, highs, density, flat_volume, edge, any_flat)
        ok = above >= threshold
        k_lo = np.where(ok, mid, k_lo)
        k_hi = np.where(ok, k_hi, mid - 1)
    levels = lo + (hi - lo) * k_lo / num_bins
    levels[(lo == hi) | (total == 0)] = np.nan
    return levels


def _volume_above(lows, highs, density, flat_volume, edge, any_flat):
    """A(edge) per window: volume at prices ≥ edge (spans split pro rata)."""
    x = edge[:, None]
    part = np.maximum(lows, x)
    np.subtract(highs, part, out=part)
    np.maximum(part, 0.0, out=part)
    part *= density
    above = part.sum(axis=1)
    if any_flat:
        above += np.where(lows >= x, flat_volume, 0.0).sum(axis=1)
    return above
