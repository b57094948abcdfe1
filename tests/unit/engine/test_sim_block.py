"""The ``portfolio`` block of a simulation: metrics from the full equity series, the
≤ 2,000-point equity curve, the trade log and skipped entries (docs/positions.md)."""

from __future__ import annotations

import numpy as np
import pytest

from backtest_contract.position import PositionSpec
from backtest_engine.sim import (
    SymbolBars,
    compute_atrs,
    curve_indices,
    iso_times,
    portfolio_block,
    simulate_portfolio,
    simulate_symbol,
)

MINUTE_NS = 60 * 10**9
TRADE_KEYS = {"symbol", "entry_time", "entry_price", "exit_time", "exit_price", "exit_reason",
              "bars_held", "quantity", "entry_notional", "fees", "pnl", "return_pct"}


def walk(n: int, seed: int, every: int = 50, symbol: str = "BTC_KRW") -> SymbolBars:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    high, low = np.maximum(open_, close) * 1.001, np.minimum(open_, close) * 0.999
    entry = np.zeros(n, dtype=bool)
    entry[::every] = True
    return SymbolBars(symbol, np.arange(n, dtype=np.int64) * MINUTE_NS, open_, high, low,
                      close, entry=entry)


def block(result, detail: bool = True) -> dict:
    return portfolio_block(result, timeframe_s=60, buy_and_hold_return_pct=1.5, fee_bps=5,
                           slippage_bps=0, detail=detail)


def test_given_5000_bars_when_building_the_block_then_curve_has_2000_points_and_metrics_use_all():
    config = PositionSpec.model_validate({"stop_loss": {"pct": 0.3}, "take_profit": {"pct": 0.4},
                                          "time_exit_bars": 30})
    result = simulate_symbol(walk(5000, 1), config, 5e-4, 0.0)
    out = block(result)
    curve = out["equity_curve"]
    assert len(curve["t"]) == len(curve["equity"]) == 2000
    assert curve["t"][0] == "1970-01-01T00:00:00Z" and curve["t"][-1] == "1970-01-04T11:19:00Z"
    assert curve["equity"] == pytest.approx(result.equity[curve_indices(5000)].tolist())
    full_dd = float(np.max(1 - result.equity / np.maximum.accumulate(
        np.maximum(result.equity, 1.0)))) * 100
    assert out["max_drawdown_pct"] == pytest.approx(full_dd)
    assert out["final_equity"] == pytest.approx(result.equity[-1])
    assert out["total_return_pct"] == pytest.approx((result.equity[-1] - 1) * 100)
    assert out["trades"] == len(out["trade_log"]) == result.trades > 50
    assert {t["exit_reason"] for t in out["trade_log"]} <= {"stop_loss", "take_profit", "time",
                                                           "end_of_data"}
    assert {"stop_loss", "take_profit"} <= {t["exit_reason"] for t in out["trade_log"]}
    assert all(set(t) == TRADE_KEYS for t in out["trade_log"])
    assert sum(t["pnl"] for t in out["trade_log"]) == pytest.approx(out["final_equity"] - 1)
    assert out["buy_and_hold_return_pct"] == 1.5


def test_given_curve_indices_when_n_is_small_or_large_then_every_bar_or_spread_evenly():
    assert curve_indices(7).tolist() == list(range(7))
    big = curve_indices(1_000_000)
    assert big.shape == (2000,) and big[0] == 0 and big[-1] == 999_999
    assert np.all(np.diff(big) > 0)


def test_given_detail_off_when_building_the_block_then_no_curve_nor_log_but_same_metrics():
    result = simulate_symbol(walk(300, 2), PositionSpec(time_exit_bars=5), 5e-4, 0.0)
    full, lean = block(result), block(result, detail=False)
    assert "equity_curve" not in lean and "trade_log" not in lean
    assert lean == {k: v for k, v in full.items() if k not in ("equity_curve", "trade_log")}


def test_given_one_slot_and_two_symbols_entering_together_when_sharing_then_skips_counted():
    config = PositionSpec.model_validate({"time_exit_bars": 10, "max_open_positions": 1})
    result = simulate_portfolio([walk(200, 3, 20, "AAA_KRW"), walk(200, 4, 20, "BBB_KRW")],
                                config, 0.0, 0.0)
    out = block(result)
    assert [t["symbol"] for t in out["trade_log"]] == ["AAA_KRW"] * 10
    assert out["skipped_entries"] == 10  # BBB wanted in at every AAA entry
    assert out["final_equity"] == pytest.approx(result.equity[-1])
    assert out["exposure_pct"] == pytest.approx(100 * 10 * 10 / 200)


def test_given_every_entry_skipped_when_sharing_then_zero_trades_and_flat_equity():
    config = PositionSpec.model_validate({"stop_loss": {"atr": 2, "length": 100},
                                          "time_exit_bars": 3})
    bars = walk(50, 5, 10)  # entries at 0, 10, …, 40; ATR(100) is NaN on every bar
    bars = SymbolBars(bars.symbol, bars.ts_ns, bars.open, bars.high, bars.low, bars.close,
                      bars.entry, atr=compute_atrs(bars.high, bars.low, bars.close, config))
    out = block(simulate_portfolio([bars], config, 0.0, 0.0))
    assert out["trades"] == 0 and out["trade_log"] == [] and out["skipped_entries"] == 5
    assert out["final_equity"] == 10000.0 and out["profit_factor"] is None
    assert out["equity_curve"]["equity"] == [10000.0] * 50


def test_given_times_across_the_int64_ns_range_when_formatted_then_numpy_iso_with_z():
    rng = np.random.default_rng(5)
    low, high = -9_223_372_036, 9_223_372_035  # seconds of the int64 nanosecond range
    seconds = np.r_[rng.integers(low, high, 5000), low, high, 0, -1, 951_782_400,
                    1_709_164_800, 4_107_542_400]  # … 29 Feb 2000 and 2024, 1 Mar 2100
    ns = seconds * 10**9 + rng.integers(0, 10**9 - 1, seconds.shape[0]) * (seconds < high)
    expected = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s",
                                     timezone="UTC").tolist()
    assert iso_times(ns) == expected
    assert iso_times(np.array([], dtype=np.int64)) == []
