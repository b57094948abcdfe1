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
import math
from dataclasses import dataclass

import numpy as np

TIE = 1e-12  # metrics closer than this are a tie (per-bar Sharpe ratios are ~1e-3 .. 1)
ZERO_SPREAD = 1e-12  # variance ≤ this × mean square: no spread (std ≤ 1e-6 × rms)
_CHUNK = 256  # choices of pbo_direct evaluated at once
_GROUP = 8  # blocks per subset-sum table of pbo_from_blocks: 2^8 rows of N sums
_CHUNK_ELEMENTS = 1 << 16  # halves × combinations scored at once: 512 KB per buffer


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
    ``sums``, ``sums_sq`` of shape (N, S), one row per combination.

    Each in-sample half is the out-of-sample half of another choice (the complement of the
    k-th choice in ``itertools.combinations`` order is the (C − 1 − k)-th), so every half
    is summed and scored once and serves both roles; only the first C/2 choices are
    enumerated, in chunks (a complement's masks are the full masks minus the choice's). A
    half's sums are gathered from tables of the sums over every subset of ``_GROUP``
    consecutive blocks (one lookup per group instead of S/2 additions), ``_CHUNK_ELEMENTS``
    metrics at a time in reused buffers (docs/sweeps.md, "How it is computed").
    """
    s = np.asarray(sums, dtype=float)
    q = np.asarray(sums_sq, dtype=float)
    blocks = s.shape[1] if s.ndim == 2 else 0
    combinations = s.shape[0] if s.ndim == 2 else 0
    reason = _unusable(rows, combinations, blocks)
    if reason is not None:
        return PboResult(None, reason)
    n = rows // blocks * (blocks // 2)  # rows of one half
    groups = [(lo, min(lo + _GROUP, blocks)) for lo in range(0, blocks, _GROUP)]
    s_t, q_t = np.ascontiguousarray(s.T), np.ascontiguousarray(q.T)  # (S, N)
    s_tables = [_subset_sums(s_t[lo:hi]) for lo, hi in groups]
    q_tables = [_subset_sums(q_t[lo:hi]) for lo, hi in groups]
    choices = math.comb(blocks, blocks // 2)
    full = np.array([(1 << (hi - lo)) - 1 for lo, hi in groups], dtype=np.intp)
    step = max(1, _CHUNK_ELEMENTS // (2 * combinations))
    work = _Buffers(2 * step, combinations)
    logits = np.empty(choices)
    ordered = itertools.combinations(range(blocks), blocks // 2)
    for first in range(0, choices // 2, step):
        ahead = np.arange(first, min(first + step, choices // 2))
        behind = choices - 1 - ahead  # their complements
        masks = _half_masks(list(itertools.islice(ordered, ahead.size)), groups)
        metric = work.metric(s_tables, q_tables, np.concatenate((masks, full - masks)), n)
        logits[ahead] = _logits(metric[:ahead.size], metric[ahead.size:])
        logits[behind] = _logits(metric[ahead.size:], metric[:ahead.size])
    return _result(logits)


def _subset_sums(rows: np.ndarray) -> np.ndarray:
    """(2^g, N) sums of the g rows of ``rows`` over every subset (bit j = row j), each
    added in increasing row order, as numpy sums the block axis."""
    out = np.zeros((1 << rows.shape[0], rows.shape[1]))
    for mask in range(1, out.shape[0]):
        top = mask.bit_length() - 1
        rest = mask ^ (1 << top)
        if rest:
            np.add(out[rest], rows[top], out=out[mask])
        else:
            out[mask] = rows[top]
    return out


def _half_masks(halves: list[tuple[int, ...]], groups: list[tuple[int, int]]) -> np.ndarray:
    """The bit mask of each half's blocks within each of ``groups``:
    (len(halves), len(groups)); the complement's masks are the groups' full masks minus
    these."""
    chosen = np.array(halves, dtype=np.intp)
    masks = np.zeros((chosen.shape[0], len(groups)), dtype=np.intp)
    for g, (lo, hi) in enumerate(groups):
        inside = (chosen >= lo) & (chosen < hi)
        bits = np.left_shift(1, np.clip(chosen - lo, 0, hi - lo - 1))
        masks[:, g] = np.where(inside, bits, 0).sum(axis=1)
    return masks


class _Buffers:
    """The (rows, N) work arrays of ``pbo_from_blocks``, reused chunk after chunk (fresh
    arrays of that size cost page faults; reused ones stay in cache)."""

    def __init__(self, rows: int, columns: int):
        self._s, self._q, self._mean, self._t, self._u = (
            np.empty((rows, columns)) for _ in range(5))
        self._flat = np.empty((rows, columns), dtype=bool)

    def metric(self, s_tables: list[np.ndarray], q_tables: list[np.ndarray],
               masks: np.ndarray, n: int) -> np.ndarray:
        """``_metric`` of the halves of ``masks`` (one per row), gathered from the subset
        tables: a view into the buffers, valid until the next call."""
        rows = masks.shape[0]
        s, q, mean, t, u = (a[:rows] for a in (self._s, self._q, self._mean, self._t, self._u))
        flat = self._flat[:rows]
        np.take(s_tables[0], masks[:, 0], axis=0, out=s)
        np.take(q_tables[0], masks[:, 0], axis=0, out=q)
        for g in range(1, len(s_tables)):
            s += np.take(s_tables[g], masks[:, g], axis=0, out=t)
            q += np.take(q_tables[g], masks[:, g], axis=0, out=t)
        # _metric, operation for operation (so the same roundings), in place
        np.divide(s, n, out=mean)
        np.multiply(s, mean, out=t)
        np.subtract(q, t, out=t)
        np.divide(t, n - 1, out=t)  # var
        np.divide(q, n, out=u)
        np.multiply(u, ZERO_SPREAD, out=u)
        np.less_equal(t, u, out=flat)
        np.copyto(t, 1.0, where=flat)
        np.sqrt(t, out=t)
        np.divide(mean, t, out=mean)
        np.copyto(mean, 0.0, where=flat)
        return mean


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
