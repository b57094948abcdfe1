"""Cost of the probability of backtest overfitting (printed, not asserted). Run:
``python bench/bench_pbo.py [--full]`` (``make bench-pbo``).

Input: 1,000 combinations × 8,760 per-bar returns (a year of 1h bars), seeded random
returns of which ~60 % are 0 (flat bars, as a strategy out of a trade has); S = 16 blocks,
C(16, 8) = 12,870 choices of in-sample blocks. Rows, side by side:

- shard side: ``block_statistics`` of every combination (what a sweep shard would add);
- the aggregation as shipped: ``pbo_from_blocks`` (numpy, from the 16 block sums and sums of
  squares per combination), called through the engine port with JSON-decoded lists;
- the definition (numpy, ``pbo_direct``): every choice scores all T × N returns, so its
  cost per choice does not depend on S; measured over the 70 choices of S = 8 and scaled
  to 12,870 (``--full`` runs all of S = 16 instead: ~15 min);
- pure Python from the same block statistics (what a numpy-free core could do): the first
  200 choices, scaled to 12,870.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from backtest_engine.adapter import Engine
from backtest_engine.stats import block_statistics, pbo_direct, pbo_from_blocks
from backtest_engine.stats.pbo import TIE, ZERO_SPREAD

COMBINATIONS = 1_000
BARS = 8_760
BLOCKS = 16
CHOICES = math.comb(BLOCKS, BLOCKS // 2)
PURE_CHOICES = 200


def _returns(seed: int = 20240101) -> np.ndarray:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0002, 0.01, (BARS, COMBINATIONS))
    returns[rng.random((BARS, COMBINATIONS)) < 0.6] = 0.0
    return returns


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _pure_python_logits(rows: int, sums: list[list[float]], sums_sq: list[list[float]],
                        limit: int) -> list[float]:
    """λ of the first ``limit`` choices, plain Python (same rules as stats/pbo.py)."""
    blocks = len(sums[0])
    n = rows // blocks * (blocks // 2)
    logits = []

    def metric(s: float, q: float) -> float:
        mean = s / n
        var = (q - s * mean) / (n - 1)
        return 0.0 if var <= ZERO_SPREAD * q / n else mean / math.sqrt(var)

    choices = itertools.combinations(range(blocks), blocks // 2)
    for chosen in itertools.islice(choices, limit):
        rest = [b for b in range(blocks) if b not in chosen]
        is_m = [metric(sum(s[b] for b in chosen), sum(q[b] for b in chosen))
                for s, q in zip(sums, sums_sq, strict=True)]
        oos_m = [metric(sum(s[b] for b in rest), sum(q[b] for b in rest))
                 for s, q in zip(sums, sums_sq, strict=True)]
        best = max(is_m)
        star = oos_m[next(i for i, m in enumerate(is_m) if m >= best - TIE)]
        below = sum(1 for m in oos_m if m < star - TIE)
        tied = sum(1 for m in oos_m if abs(m - star) <= TIE)
        omega = (below + (tied + 1) / 2) / (len(sums) + 1)
        logits.append(math.log(omega / (1 - omega)))
    return logits


def main(argv: list[str]) -> None:
    full = "--full" in argv
    returns = _returns()
    print(f"PBO cost: {COMBINATIONS:,} combinations × {BARS:,} returns, S = {BLOCKS} "
          f"({CHOICES:,} choices)\n")

    shard_s, (sums, sums_sq) = _timed(lambda: block_statistics(returns, BLOCKS))
    per_combo_s, _ = _timed(lambda: [block_statistics(returns[:, i], BLOCKS)
                                     for i in range(COMBINATIONS)])
    payload = json.dumps({"sum": sums.T.tolist(), "sumsq": sums_sq.T.tolist()})
    decoded = json.loads(payload)

    port_s, outcome = _timed(lambda: Engine().pbo(BARS, decoded["sum"], decoded["sumsq"]))
    arrays_s, blocks_result = _timed(lambda: pbo_from_blocks(BARS, sums.T, sums_sq.T))

    if full:
        direct_s, direct = _timed(lambda: pbo_direct(returns, BLOCKS))
        direct_note = "measured, all choices"
        check = blocks_result
    else:
        small_s, direct = _timed(lambda: pbo_direct(returns, 8))
        direct_s = small_s / math.comb(8, 4) * CHOICES
        direct_note = f"{small_s:.2f} s for the 70 choices of S = 8, scaled"
        s8, q8 = block_statistics(returns, 8)
        check = pbo_from_blocks(BARS, s8.T, q8.T)

    pure_s, pure = _timed(lambda: _pure_python_logits(BARS, decoded["sum"], decoded["sumsq"],
                                                      PURE_CHOICES))
    pure_total_s = pure_s / PURE_CHOICES * CHOICES

    rows = [
        ("shard: block_statistics, all combinations at once", shard_s, "measured"),
        ("shard: block_statistics, one combination at a time", per_combo_s, "measured"),
        ("aggregation: pbo_from_blocks via Engine().pbo (lists)", port_s, "measured, shipped"),
        ("aggregation: pbo_from_blocks (arrays)", arrays_s, "measured"),
        ("definition: pbo_direct (numpy)", direct_s, direct_note),
        ("pure Python from block statistics", pure_total_s,
         f"{pure_s:.2f} s for {PURE_CHOICES} choices, scaled"),
    ]
    width = max(len(name) for name, _, _ in rows)
    for name, seconds, note in rows:
        print(f"  {name:<{width}}  {seconds:9.3f} s   ({note})")
    print(f"\n  block statistics in a shard's JSON: {len(payload) / 1e6:.2f} MB for "
          f"{COMBINATIONS:,} combinations × {BLOCKS} blocks × 2 "
          f"({len(payload) / COMBINATIONS:.0f} B per combination)")
    print(f"  PBO = {outcome.pbo:.6f}; 50 symbols ≈ {50 * port_s:.1f} s of aggregation")
    gap = float(np.max(np.abs(np.array(check.logits) - np.array(direct.logits))))
    pure_gap = float(np.max(np.abs(np.array(pure)
                                   - np.array(blocks_result.logits[:PURE_CHOICES]))))
    print(f"  blocks vs definition: PBO {check.pbo:.6f} vs {direct.pbo:.6f}, "
          f"max |Δλ| = {gap:.1e}; pure Python vs blocks: max |Δλ| = {pure_gap:.1e}")


if __name__ == "__main__":
    main(sys.argv[1:])
