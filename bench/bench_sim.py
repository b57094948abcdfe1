"""Position simulator figures (printed side by side; not a timed test). Run: ``make bench-sim``.

(a) one symbol, 1,000,000 generated one-minute bars, entries from a mask, stop loss,
take profit and a trailing stop (about 10,000 trades): ``simulate_symbol`` against the
per-row reference loop of tests/unit/engine/sim_reference.py (run on the first
REFERENCE_BARS bars and scaled to the full series; both results are checked equal on
that slice first). (b) a shared portfolio of 20 symbols × 100,000 bars, 5 slots.
"""

from __future__ import annotations

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


def head(bars: SymbolBars, n: int) -> SymbolBars:
    return SymbolBars(bars.symbol, bars.ts_ns[:n], bars.open[:n], bars.high[:n], bars.low[:n],
                      bars.close[:n], bars.entry[:n])


def best_of(repeats: int, fn):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    bars = minute_bars("BTC_KRW", BARS, 7)
    part = head(bars, REFERENCE_BARS)
    ref_s, ref = best_of(3, lambda: reference_symbol(part, RULE, FEE, SLIPPAGE))
    mine = simulate_symbol(part, RULE, FEE, SLIPPAGE)
    same = (mine.trades == len(ref.trades)
            and mine.exit_bar.tolist() == [t.exit_bar for t in ref.trades]
            and np.allclose(mine.equity, ref.equity, rtol=1e-9))
    sim_s, result = best_of(3, lambda: simulate_symbol(bars, RULE, FEE, SLIPPAGE))
    ref_full_s = ref_s * BARS / REFERENCE_BARS
    reasons = np.bincount(result.reason, minlength=6).tolist()
    print(f"(a) one symbol, {BARS:,} one-minute bars, stop 1 % / take profit 1.5 % / trail "
          f"0.6 % after 0.5 %: {result.trades:,} trades (reasons stop,take,trail,time,"
          f"signal,end = {reasons})")
    print(f"    per-row reference loop : {ref_s:8.3f} s on {REFERENCE_BARS:,} bars "
          f"→ {ref_full_s:8.2f} s scaled to {BARS:,} (same trades and equity on the slice: "
          f"{same})")
    print(f"    simulate_symbol         : {sim_s:8.3f} s on {BARS:,} bars (best of 3)")
    print(f"    ratio                   : {ref_full_s / sim_s:8.1f}×  (goal ≥ 30×)")
    symbols = [minute_bars(f"S{k:02d}_KRW", SHARED_BARS, 100 + k) for k in range(SHARED_SYMBOLS)]
    shared_s, shared = best_of(3, lambda: simulate_portfolio(symbols, SHARED, FEE, SLIPPAGE))
    print(f"(b) shared portfolio, {SHARED_SYMBOLS} symbols × {SHARED_BARS:,} bars, 5 equal "
          f"slots: {shared_s:.3f} s (best of 3; goal ≤ 2 s); {shared.trades:,} trades, "
          f"{shared.skipped_entries:,} skipped entries")
    if not same:
        raise SystemExit("the simulator and the reference loop disagree on the slice")


if __name__ == "__main__":
    main()
