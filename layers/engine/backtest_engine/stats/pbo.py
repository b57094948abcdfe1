"""Probability of backtest overfitting (PBO) by combinatorially symmetric cross-validation
(Bailey, Borwein, López de Prado, Zhu 2017), as docs/sweeps.md describes it.

Input: the per-bar returns of N combinations over the same T bars (one row per bar).
Drop the first T mod S rows, cut the rest into S contiguous blocks of T // S rows; for each
of the C(S, S/2) choices of S/2 in-sample blocks (``itertools.combinations`` order; the
other blocks are out-of-sample) score every combination by mean / std (ddof 1) of its
rows, pick the best in-sample one n*, rank it out-of-sample (1 = worst, ties get their
average rank) and take the logit λ = ln(ω / (1 − ω)) of ω = rank / (N + 1).
PBO = share of the choices with λ ≤ 0 (n* at or below the out-of-sample median).

Two implementations that agree (tests/unit/engine/test_stats_pbo.py):

- ``pbo_from_blocks``: from each block's sum and sum of squares per combination
  (``block_statistics`` / ``block_fields``, computed where the returns are, i.e. in the
  sweep shards), so that
  the aggregation combines S × N numbers per choice instead of T × N. Used in production.
- ``pbo_direct``: the definition row by row; the reference of the tests.

Choices the definition leaves to us (the same in both):

- a metric whose std is below 10⁻⁶ of the root mean square of its rows is 0 (a constant
  series: its spread is float rounding only, and mean/rounding is no Sharpe ratio);
- metrics within ``TIE`` (10⁻¹²) of each other are equal, both for "first on ties" (n*)
  and for the average rank, so that the answer does not depend on summation order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

TIE = 1e-12  # metrics closer than this are a tie (per-bar Sharpe ratios are ~1e-3 .. 1)
ZERO_SPREAD = 1e-12  # variance ≤ this × mean square: no spread (std ≤ 1e-6 × rms)
_CHUNK = 256  # choices evaluated at once: (chunk, S/2, N) floats stay a few MB


@dataclass(frozen=True)
class PboResult:
    """``pbo`` in 0..1 (None with ``reason`` when it cannot be computed) and the logit λ of
    every choice of in-sample blocks, in ``itertools.combinations`` order (diagnostics)."""

    pbo: float | None
    reason: str | None
    logits: tuple[float, ...] = ()


def block_statistics(returns: np.ndarray, blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-block ``(sums, sums_of_squares)`` of ``returns`` (shape (T,) or (T, N)), each of
    shape (S,) or (S, N): the first T mod S rows dropped, blocks of T // S rows in time order.

    >>> block_statistics(np.array([9.0, 1, 2, 3, 4]), 2)[0].tolist()
    [3.0, 7.0]
    """
    r = np.asarray(returns, dtype=float)
    size = r.shape[0] // blocks
    kept = r[r.shape[0] - size * blocks:].reshape(blocks, size, *r.shape[1:])
    return kept.sum(axis=1), (kept * kept).sum(axis=1)


def block_fields(returns: np.ndarray, blocks: int) -> dict[str, list[float]]:
    """A sweep shard entry's PBO input from one combination's per-bar returns:
    ``{"pbo_sum": [S block sums], "pbo_sumsq": [S block sums of squares]}`` (JSON-safe;
    Python's float repr round-trips exactly)."""
    sums, sums_sq = block_statistics(np.asarray(returns, dtype=float).reshape(-1), blocks)
    return {"pbo_sum": sums.tolist(), "pbo_sumsq": sums_sq.tolist()}


def pbo_from_blocks(rows: int, sums: np.ndarray, sums_sq: np.ndarray) -> PboResult:
    """PBO from ``block_statistics``: ``rows`` = T (returns per combination, before the drop);
    ``sums``, ``sums_sq`` of shape (N, S), one row per combination."""
    s = np.asarray(sums, dtype=float)
    q = np.asarray(sums_sq, dtype=float)
    blocks = s.shape[1] if s.ndim == 2 else 0
    reason = _unusable(rows, s.shape[0] if s.ndim == 2 else 0, blocks)
    if reason is not None:
        return PboResult(None, reason)
    n = rows // blocks * (blocks // 2)  # rows of one half
    s_t, q_t = np.ascontiguousarray(s.T), np.ascontiguousarray(q.T)  # (S, N)
    logits = []
    for is_idx, oos_idx in _choices(blocks):
        is_metric = _metric(s_t[is_idx].sum(axis=1), q_t[is_idx].sum(axis=1), n)
        oos_metric = _metric(s_t[oos_idx].sum(axis=1), q_t[oos_idx].sum(axis=1), n)
        logits.append(_logits(is_metric, oos_metric))
    return _result(np.concatenate(logits))


def pbo_direct(returns: np.ndarray, blocks: int) -> PboResult:
    """PBO of the (T, N) matrix ``returns`` by the definition: each choice's in-sample and
    out-of-sample rows (in time order) scored by ``np.mean`` / ``np.std(ddof=1)``."""
    r = np.asarray(returns, dtype=float)
    reason = _unusable(r.shape[0], r.shape[1] if r.ndim == 2 else 0, blocks)
    if reason is not None:
        return PboResult(None, reason)
    size = r.shape[0] // blocks
    cut = r[r.shape[0] - size * blocks:].reshape(blocks, size, r.shape[1])
    logits = []
    for is_idx, oos_idx in _choices(blocks, chunk=1):
        logits.append(_logits(_direct_metric(cut[is_idx[0]].reshape(-1, r.shape[1]))[None],
                              _direct_metric(cut[oos_idx[0]].reshape(-1, r.shape[1]))[None]))
    return _result(np.concatenate(logits))


def _unusable(rows: int, combinations: int, blocks: int) -> str | None:
    if combinations < 2:
        return "PBO needs at least 2 combinations"
    if blocks < 2 or blocks % 2:
        return f"pbo_blocks must be an even number, got {blocks}"
    if rows < 2 * blocks:
        return (f"PBO needs at least {2 * blocks} bar returns (2 per block of "
                f"{blocks}); the symbol has {rows}")
    return None


def _choices(blocks: int, chunk: int = _CHUNK):
    """``(in_sample, out_of_sample)`` block index arrays of shape (c, S/2), c ≤ ``chunk``
    choices at a time, in ``itertools.combinations`` order."""
    every = set(range(blocks))
    combos = itertools.combinations(range(blocks), blocks // 2)
    while batch := list(itertools.islice(combos, chunk)):
        yield (np.array(batch, dtype=np.intp),
               np.array([sorted(every - set(c)) for c in batch], dtype=np.intp))


def _metric(s: np.ndarray, q: np.ndarray, n: int) -> np.ndarray:
    """mean / std (ddof 1) of n rows from their sum ``s`` and sum of squares ``q``."""
    mean = s / n
    var = (q - s * mean) / (n - 1)
    flat = var <= ZERO_SPREAD * (q / n)
    return np.where(flat, 0.0, mean / np.sqrt(np.where(flat, 1.0, var)))


def _direct_metric(rows: np.ndarray) -> np.ndarray:
    """mean / std (ddof 1) of each column of ``rows``, by ``np.mean`` and ``np.std``."""
    mean = np.mean(rows, axis=0)
    std = np.std(rows, axis=0, ddof=1)
    flat = std * std <= ZERO_SPREAD * np.mean(rows * rows, axis=0)
    return np.where(flat, 0.0, mean / np.where(flat, 1.0, std))


def _logits(is_metric: np.ndarray, oos_metric: np.ndarray) -> np.ndarray:
    """λ per choice from (c, N) in-sample and out-of-sample metrics (higher is better)."""
    best = is_metric.max(axis=1, keepdims=True)
    n_star = np.argmax(is_metric >= best - TIE, axis=1)  # the first of the tied best
    star = oos_metric[np.arange(oos_metric.shape[0]), n_star][:, None]
    below = np.count_nonzero(oos_metric < star - TIE, axis=1)
    tied = np.count_nonzero(np.abs(oos_metric - star) <= TIE, axis=1)  # n* included
    omega = (below + (tied + 1) / 2) / (oos_metric.shape[1] + 1)
    return np.log(omega / (1 - omega))


def _result(logits: np.ndarray) -> PboResult:
    # ω ≤ 1/2 ⟺ λ ≤ 0; ω = 1/2 gives ln(1) = 0 exactly (both halves are exact in binary).
    return PboResult(float(np.count_nonzero(logits <= 0)) / logits.shape[0], None,
                     tuple(logits.tolist()))
