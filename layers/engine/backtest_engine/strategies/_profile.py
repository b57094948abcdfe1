"""Vectorised resistance levels of the per-window volume profile (docs/engine.md#strategies, steps 1-3).

Instead of filling K bins per window, use that the volume at or above a price x,
``A(x) = Σ v·clip(span_high − max(span_low, x), 0)/height  +  Σ_flat v·[price ≥ x]``,
is non-increasing in x and equals the top-down running bin sum at a bin's lower edge.
So R = e_k for the largest k with A(e_k) ≥ p·total, found by bisection over k in
ceil(log2 K) steps, for all windows of a chunk at once. Cost: O(n·W·log K), no Python loop
over bars. Ties: a running sum within ``tie_tolerance(W)``·total below p·total counts as
reaching it — the rounding a sum of W products can carry, so float rounding (which differs
between this form and per-bin sums) does not decide exact mathematical ties, and nothing
that is a real difference (far above rounding) is absorbed.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def tie_tolerance(window: int) -> float:
    """Relative slack of the ``running sum ≥ p·total`` test: a bound on the rounding of a
    sum of ``window`` products (8·(W+1)·ε, ε = 2⁻⁵²; 1.8e-12 at W = 1000)."""
    return 8 * (window + 1) * float(np.finfo(np.float64).eps)

_CHUNK_ELEMENTS = 1 << 21  # windows × W per chunk: bounds the time between progress ticks


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
    bars = _bars(span_low, span_high, volume)
    rows = max(1024, _CHUNK_ELEMENTS // window)
    for start in range(0, n - window, rows):
        stop = min(start + rows, n - window)
        out[window + start: window + stop] = _chunk_levels(bars, start, stop, window,
                                                           num_bins, top_fraction)
        tick(stop - start)
    return out


class _Bars:
    """Per-bar inputs of the kernel; flat (zero-height) bars are kept as a sparse list."""

    def __init__(self, low, high, density, flat_volume, volume, any_flat):
        self.low, self.high, self.density, self.volume = low, high, density, volume
        self.flat_index = np.flatnonzero(flat_volume > 0) if any_flat else np.empty(0, int)
        self.flat_volume = flat_volume

    @staticmethod
    def column(values: np.ndarray, m: int, start: int, stop: int) -> np.ndarray:
        """Bar ``w + m`` of every window w in ``start..stop-1``."""
        return values[start + m: stop + m]

    def flat_pairs(self, start: int, stop: int, window: int):
        """(window offset, price, volume) of every flat bar inside windows start..stop-1."""
        idx = self.flat_index[(self.flat_index >= start) & (self.flat_index < stop + window)]
        owner = (idx[:, None] - np.arange(window)[None, :]).ravel()
        bar = np.repeat(idx, window)
        keep = (owner >= start) & (owner < stop)
        return owner[keep] - start, self.low[bar[keep]], self.flat_volume[bar[keep]]


def resistance_levels_many(
    span_low: np.ndarray,
    span_high: np.ndarray,
    volume: np.ndarray,
    window: int,
    num_bins: int,
    top_fractions: list[float],
    tick: Callable[[int], None] = lambda _n: None,
) -> dict[float, np.ndarray]:
    """``resistance_levels`` for several ``top_fractions`` at once, ``{p: R}``, each array
    identical to a ``resistance_levels`` call with that p.

    The window's range, total and flat bars are computed once per chunk. With many p the
    volume above every bin edge is computed once (K − 1 passes) and each p counts the
    edges that reach its threshold; A(e_k) is non-increasing in k in floating point too
    (every step of its computation is monotone), so the count is the bisection's answer.
    """
    fractions = list(dict.fromkeys(top_fractions))
    n = span_low.shape[0]
    out = {p: np.full(n, np.nan) for p in fractions}
    if n <= window:
        tick(n)
        return out
    tick(window)
    bars = _bars(span_low, span_high, volume)
    rows = max(1024, _CHUNK_ELEMENTS // window)
    for start in range(0, n - window, rows):
        stop = min(start + rows, n - window)
        chunk = _chunk_levels_many(bars, start, stop, window, num_bins, fractions)
        for p, levels in chunk.items():
            out[p][window + start: window + stop] = levels
        tick(stop - start)
    return out


def _bars(span_low: np.ndarray, span_high: np.ndarray, volume: np.ndarray) -> _Bars:
    height = span_high - span_low
    flat = height == 0
    return _Bars(span_low, span_high, np.where(flat, 0.0, volume / np.where(flat, 1.0, height)),
                 np.where(flat, volume, 0.0), volume, bool(flat.any()))


def _chunk_levels(bars: _Bars, start: int, stop: int, window: int, num_bins: int,
                  top_fraction: float) -> np.ndarray:
    """R for windows ``start..stop-1`` (window w covers bars w … w+W−1)."""
    return _chunk_levels_many(bars, start, stop, window, num_bins, [top_fraction])[top_fraction]


def _chunk_levels_many(bars: _Bars, start: int, stop: int, window: int, num_bins: int,
                       fractions: list[float]) -> dict[float, np.ndarray]:
    col = _Bars.column
    lo = col(bars.low, 0, start, stop).copy()
    hi = col(bars.high, 0, start, stop).copy()
    total = col(bars.volume, 0, start, stop).copy()
    for m in range(1, window):  # W contiguous passes beat a (rows × W) axis-1 reduction
        np.minimum(lo, col(bars.low, m, start, stop), out=lo)
        np.maximum(hi, col(bars.high, m, start, stop), out=hi)
        total += col(bars.volume, m, start, stop)
    flat = bars.flat_pairs(start, stop, window)
    steps = math.ceil(math.log2(num_bins)) if num_bins > 1 else 0
    thresholds = {p: p * total - tie_tolerance(window) * total for p in fractions}
    if len(fractions) * steps > num_bins - 1:  # one pass per edge beats a bisection per p
        k_best = {p: np.zeros(stop - start, dtype=np.int64) for p in fractions}
        for k in range(1, num_bins):
            above = _volume_above(bars, start, stop, window, lo + (hi - lo) * k / num_bins, flat)
            for p, threshold in thresholds.items():
                k_best[p] += above >= threshold
    else:
        k_best = {p: _bisect(bars, start, stop, window, num_bins, lo, hi, threshold, flat, steps)
                  for p, threshold in thresholds.items()}
    out = {}
    for p, k in k_best.items():
        levels = lo + (hi - lo) * k / num_bins
        levels[(lo == hi) | (total == 0)] = np.nan
        out[p] = levels
    return out


def _bisect(bars, start, stop, window, num_bins, lo, hi, threshold, flat, steps) -> np.ndarray:
    """Largest k in 0..K−1 whose edge still has ≥ threshold volume above it, per window."""
    k_lo = np.zeros(stop - start, dtype=np.int64)
    k_hi = np.full(stop - start, num_bins - 1, dtype=np.int64)
    for _ in range(steps):
        mid = (k_lo + k_hi + 1) // 2
        edge = lo + (hi - lo) * mid / num_bins
        ok = _volume_above(bars, start, stop, window, edge, flat) >= threshold
        k_lo = np.where(ok, mid, k_lo)
        k_hi = np.where(ok, k_hi, mid - 1)
    return k_lo


def _volume_above(bars: _Bars, start: int, stop: int, window: int, edge: np.ndarray, flat):
    """A(edge) per window: volume at prices ≥ edge (spans split pro rata; a flat bar
    counts fully when its price ≥ edge)."""
    col = _Bars.column
    above = np.zeros(stop - start)
    part = np.empty(stop - start)
    for m in range(window):
        np.maximum(col(bars.low, m, start, stop), edge, out=part)
        np.subtract(col(bars.high, m, start, stop), part, out=part)
        np.maximum(part, 0.0, out=part)
        part *= col(bars.density, m, start, stop)
        above += part
    owner, price, volume = flat
    if owner.shape[0]:
        weights = np.where(price >= edge[owner], volume, 0.0)
        above += np.bincount(owner, weights=weights, minlength=stop - start)
    return above
