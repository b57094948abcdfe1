"""Position simulator figures (printed side by side; not a timed test). Run: ``make bench-sim``.

(a) one symbol, 1,000,000 generated one-minute bars, entries from a mask, stop loss,
take profit and a trailing stop (about 10,000 trades): ``simulate_symbol`` against the
per-row reference loop of tests/unit/engine/sim_reference.py (run on the first
REFERENCE_BARS bars and scaled to the full series; both results are checked equal on
that slice first). (b) a shared portfolio of 20 symbols × 100,000 bars, 5 slots.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from backtest_contract.position import PositionSpec
from backtest_engine.sim import SymbolBars, simulate_portfolio, simulate_symbol

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "unit" / "engine"))
from sim_reference import reference_symbol  # noqa: E402

BARS = 1_000_000
REFERENCE_BARS = 100_000
SHARED_SYMBOLS, SHARED_BARS = 20, 100_000
FEE, SLIPPAGE = 5e-4, 1e-4
RULE = PositionSpec.model_validate({
    "stop_loss": {"pct": 1.0}, "take_profit": {"pct": 1.5},
    "trailing_stop": {"pct": 0.6, "activation_pct": 0.5}})
SHARED = PositionSpec.model_validate({
    **RULE.model_dump(exclude_none=True), "max_open_positions": 5, "sizing": "equal_slots"})


def minute_bars(symbol: str, n: int, seed: int, entry_rate: float = 0.02) -> SymbolBars:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    open_ = np.r_[close[0], close[:-1]] * (1 + rng.normal(0, 0.0002, n))
    high = np.maximum(open_, close) * (1 + rng.exponential(0.0005, n))
    low = np.minimum(open_, close) * (1 - rng.exponential(0.0005, n))
    ts = np.datetime64("2024-01-01", "ns").astype(np.int64) + np.arange(n, dtype=np.int64) * 60 * 10**9
    return SymbolBars(symbol, ts, open_, high, low, close, entry=rng.random(n) < entry_rate)


def plain_loop(bars: SymbolBars, fee: float, slippage: float) -> tuple[list[int], list[float]]:
    """RULE as a user would write it for one symbol: one pass over the bars (Python lists),
    at the close, all in (docs/positions.md, "One bar"). Returns (exit bars, equity)."""
    o, h, lo, c = (a.tolist() for a in (bars.open, bars.high, bars.low, bars.close))
    entry, n = bars.entry.tolist(), len(bars)
    stop_f, take_f = 1 - RULE.stop_loss.pct / 100, 1 + RULE.take_profit.pct / 100
    trail_f = 1 - RULE.trailing_stop.pct / 100
    arm_f = 1 + RULE.trailing_stop.activation_pct / 100
    cash, units, holding = 1.0, 0.0, False
    stop = take = peak = arm = 0.0
    exits, equity = [], [0.0] * n
    for i in range(n):
        exited = False
        if holding:
            trail = peak * trail_f if peak >= arm else -math.inf
            level = trail if trail > stop else stop
            if o[i] <= level or o[i] >= take:
                ref = o[i]  # a gap: at the open
            elif lo[i] <= level:
                ref = level
            elif h[i] >= take:
                ref = take
            elif i == n - 1:
                ref = c[i]
            else:
                ref = None
                peak = max(peak, h[i])
            if ref is not None:
                cash += units * ref * (1 - slippage) * (1 - fee)
                units, holding, exited = 0.0, False, True
                exits.append(i)
        if not holding and not exited and entry[i] and i < n - 1:
            price = c[i] * (1 + slippage)
            units = cash * (1 - fee) / price
            cash, holding = 0.0, True
            stop, take, peak, arm = price * stop_f, price * take_f, price, price * arm_f
        equity[i] = cash + units * c[i]
    return exits, equity


def head(bars: SymbolBars, n: int) -> SymbolBars:
    return SymbolBars(bars.symbol, bars.ts_ns[:n], bars.open[:n], bars.high[:n], bars.low[:n],
                      bars.close[:n], bars.entry[:n])


def best_of(repeats: int, fn):
    """(fastest wall time, fastest CPU time of this process, result) of ``repeats`` calls.
    The ratio uses CPU time: on a shared machine either side's wall time depends on what
    else runs; both sides are single-threaded."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), out


def main() -> None:
    bars = minute_bars("BTC_KRW", BARS, 7)
    part = head(bars, REFERENCE_BARS)
    ref_wall, ref_s, ref = best_of(3, lambda: reference_symbol(part, RULE, FEE, SLIPPAGE))
    mine = simulate_symbol(part, RULE, FEE, SLIPPAGE)
    same = (mine.trades == len(ref.trades)
            and mine.exit_bar.tolist() == [t.exit_bar for t in ref.trades]
            and np.allclose(mine.equity, ref.equity, rtol=1e-9))
    sim_wall, sim_s, result = best_of(5, lambda: simulate_symbol(bars, RULE, FEE, SLIPPAGE))
    ref_full_s = ref_s * BARS / REFERENCE_BARS
    plain_wall, plain_s, (plain_exits, plain_equity) = best_of(
        3, lambda: plain_loop(bars, FEE, SLIPPAGE))
    plain_same = (plain_exits == result.exit_bar.tolist()
                  and np.allclose(plain_equity, result.equity, rtol=1e-9))
    reasons = np.bincount(result.reason, minlength=6).tolist()
    print(f"(a) one symbol, {BARS:,} one-minute bars, stop 1 % / take profit 1.5 % / trail "
          f"0.6 % after 0.5 %: {result.trades:,} trades (reasons stop,take,trail,time,"
          f"signal,end = {reasons})")
    print(f"    per-row reference loop : {ref_s:8.3f} s CPU ({ref_wall:.3f} s wall) on "
          f"{REFERENCE_BARS:,} bars → {ref_full_s:8.2f} s scaled to {BARS:,} (same trades "
          f"and equity on the slice: {same}; best of 3)")
    print(f"    simulate_symbol         : {sim_s:8.3f} s CPU ({sim_wall:.3f} s wall) on "
          f"{BARS:,} bars (best of 5)")
    print(f"    plain per-row loop      : {plain_s:8.3f} s CPU ({plain_wall:.3f} s wall) on "
          f"{BARS:,} bars (one symbol, these rules only; same exits and equity: "
          f"{plain_same}; best of 3)")
    print(f"    ratio                   : {ref_full_s / sim_s:8.1f}× the reference loop, "
          f"{plain_s / sim_s:.1f}× the plain loop  (goal ≥ 30×)")
    symbols = [minute_bars(f"S{k:02d}_KRW", SHARED_BARS, 100 + k) for k in range(SHARED_SYMBOLS)]
    shared_wall, shared_s, shared = best_of(
        3, lambda: simulate_portfolio(symbols, SHARED, FEE, SLIPPAGE))
    print(f"(b) shared portfolio, {SHARED_SYMBOLS} symbols × {SHARED_BARS:,} bars, 5 equal "
          f"slots: {shared_s:.3f} s CPU ({shared_wall:.3f} s wall; best of 3; goal ≤ 2 s); "
          f"{shared.trades:,} trades, "
          f"{shared.skipped_entries:,} skipped entries")
    if not (same and plain_same):
        raise SystemExit("the simulator and a per-row loop disagree")


if __name__ == "__main__":
    main()
