"""The worked examples E, F and G of docs/positions.md, reproduced to 1e-7."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engine_helpers import reader_for

from backtest_contract.position import PositionSpec
from backtest_engine import RunSpec, run_backtest
from backtest_engine.sim import SymbolBars, portfolio_block, simulate_portfolio, simulate_symbol

DAY_NS = 86_400 * 10**9
ORIGIN_NS = int(pd.Timestamp("2024-01-01").value)

E_BARS = [(100, 100.5, 99.5, 100), (100, 101, 99.8, 101), (101, 102, 100, 101.5),
          (101.5, 106, 101, 105.5), (105, 105, 99, 99.5), (99.5, 101, 99, 100.8),
          (97, 98, 96, 97.5), (97.5, 101, 97, 100.6), (100.6, 102, 100, 101.5)]
E_ENTRIES = [1, 5, 7]
E_POSITION = {"stop_loss": {"pct": 2}, "take_profit": {"pct": 4}}
F_BARS = [(100, 100, 99, 100), (100, 101, 99.5, 100.8), (100.8, 103, 100.5, 102.5),
          (102.5, 106, 102, 105.5), (105.5, 107, 104, 104.2), (104, 104.5, 103.2, 103.5),
          (103.5, 104, 101, 101.2), (101, 102, 100.5, 101.8)]
AAA = [(10, 10.5, 9.8, 10), (10, 10.6, 9.9, 10.4), (10.4, 10.8, 10.2, 10.6),
       (10.6, 11, 10.5, 10.9), (10.9, 11.2, 10.7, 11)]
BBB = [(20, 20.2, 19.8, 20), (20, 20.5, 19.9, 20.3), (20.3, 20.4, 19.5, 19.6),
       (19.6, 19.8, 19, 19.2), (19.2, 19.5, 19, 19.4)]


def bars_of(symbol: str, rows, entries, priority: float | None = None) -> SymbolBars:
    ohlc = np.array(rows, dtype=float)
    entry = np.zeros(len(rows), dtype=bool)
    entry[entries] = True
    return SymbolBars(symbol, ORIGIN_NS + np.arange(len(rows), dtype=np.int64) * DAY_NS,
                      *ohlc.T.copy(), entry=entry,
                      priority=None if priority is None else np.full(len(rows), priority))


def days(times: list[str]) -> list[int]:
    return [(pd.Timestamp(t) - pd.Timestamp("2024-01-01", tz="UTC")).days for t in times]


def trades(block: dict) -> list[tuple]:
    log = block["trade_log"]
    return list(zip(days([t["entry_time"] for t in log]), days([t["exit_time"] for t in log]),
                    [t["exit_reason"] for t in log], strict=True))


def block_of(bars: SymbolBars, position: dict, fee_bps=0.0, slippage_bps=0.0) -> dict:
    result = simulate_symbol(bars, PositionSpec.model_validate(position), fee_bps / 1e4,
                             slippage_bps / 1e4)
    return portfolio_block(result, timeframe_s=86_400, fee_bps=fee_bps,
                           slippage_bps=slippage_bps, buy_and_hold_return_pct=0.0, detail=True)


def test_given_example_e_at_the_close_when_simulating_then_take_gap_stop_and_end_of_data():
    block = block_of(bars_of("BTC_KRW", E_BARS, E_ENTRIES), E_POSITION)
    assert trades(block) == [(1, 3, "take_profit"), (5, 6, "stop_loss"), (7, 8, "end_of_data")]
    log = block["trade_log"]
    assert [t["entry_price"] for t in log] == pytest.approx([101, 100.8, 100.6], abs=1e-9)
    assert [t["exit_price"] for t in log] == pytest.approx([105.04, 97, 101.5], abs=1e-9)
    assert block["total_return_pct"] == pytest.approx(0.9747073, abs=1e-7)
    assert block["max_drawdown_pct"] == pytest.approx(3.7698413, abs=1e-7)
    assert block["trades"] == 3 and block["skipped_entries"] == 0


def test_given_example_e_with_fee_and_slippage_when_simulating_then_fills_match_docs():
    block = block_of(bars_of("BTC_KRW", E_BARS, E_ENTRIES), E_POSITION, 5, 10)
    log = block["trade_log"]
    assert [t["entry_price"] for t in log] == pytest.approx([101.101, 100.9008, 100.7006],
                                                            abs=1e-7)
    assert [t["exit_price"] for t in log] == pytest.approx([105.039895, 96.903, 101.3985],
                                                           abs=1e-7)
    assert [t["return_pct"] for t in log] == pytest.approx([3.7921300, -4.0581232, 0.5923767],
                                                           abs=1e-7)
    assert block["total_return_pct"] == pytest.approx(0.1700068, abs=1e-7)
    assert block["max_drawdown_pct"] == pytest.approx(4.2018922, abs=1e-7)
    for t in log:  # fees are both sides' fees; pnl is net of them
        assert t["fees"] == pytest.approx(
            t["entry_notional"] * 5e-4 + t["quantity"] * t["exit_price"] * 5e-4, rel=1e-12)
        assert t["pnl"] == pytest.approx(t["return_pct"] / 100 * t["entry_notional"], rel=1e-9)


def test_given_example_e_at_the_next_open_when_simulating_then_no_third_trade():
    block = block_of(bars_of("BTC_KRW", E_BARS, E_ENTRIES),
                     {**E_POSITION, "execution": "next_open"})
    assert trades(block) == [(2, 3, "take_profit"), (6, 7, "take_profit")]
    assert [t["entry_price"] for t in block["trade_log"]] == pytest.approx([101, 97])
    assert [t["exit_price"] for t in block["trade_log"]] == pytest.approx([105.04, 100.88])
    assert block["total_return_pct"] == pytest.approx(8.16, abs=1e-7)


def test_given_example_e_as_a_rule_document_when_running_then_its_entries_trade_the_same():
    frame = pd.DataFrame([(*row, 100.0) for row in E_BARS],
                         columns=["open", "high", "low", "close", "volume"])
    frame.insert(0, "timestamp", pd.date_range("2024-01-01", periods=9, freq="D", tz="UTC"))
    definition = {"name": "cross_e", "entry": {"crosses_above": [{"price": "close"}, 100.5]}}
    spec = RunSpec(strategy=None, definition=definition, symbols=["BTC_KRW"], fee_bps=0.0,
                   position=E_POSITION)
    doc = run_backtest(spec, reader_for({"BTC_KRW": frame}), run_id="e", environment="test")
    block = doc["symbols"][0]["portfolio"]
    assert trades(block) == [(1, 3, "take_profit"), (5, 6, "stop_loss"), (7, 8, "end_of_data")]
    assert block["total_return_pct"] == pytest.approx(0.9747073, abs=1e-7)
    assert doc["portfolio"]["trade_log"][0]["exit_reason"] == "take_profit"


def test_given_example_f_when_the_trail_arms_then_it_exits_below_the_peak_of_107():
    block = block_of(bars_of("BTC_KRW", F_BARS, [1]),
                     {"trailing_stop": {"pct": 3, "activation_pct": 2}})
    assert trades(block) == [(1, 5, "trailing_stop")]
    assert block["trade_log"][0]["exit_price"] == pytest.approx(107 * 0.97, abs=1e-9)
    assert block["total_return_pct"] == pytest.approx(2.9662698, abs=1e-7)
    assert block["max_drawdown_pct"] == pytest.approx(1.6208531, abs=1e-7)
    assert block["exposure_pct"] == pytest.approx(4 / 8 * 100)


def shared_g(max_open: int, sizing: str) -> dict:
    config = PositionSpec.model_validate({"time_exit_bars": 2, "initial_capital": 10000,
                                          "max_open_positions": max_open, "sizing": sizing})
    result = simulate_portfolio([bars_of("AAA_KRW", AAA, [1], 1.0),
                                 bars_of("BBB_KRW", BBB, [1, 3], 2.0)], config, 0.0, 0.0)
    return portfolio_block(result, timeframe_s=86_400, fee_bps=0, slippage_bps=0,
                           buy_and_hold_return_pct=0.0, detail=True)


def test_given_example_g_with_one_slot_when_both_want_in_then_bbb_wins_and_aaa_is_skipped():
    block = shared_g(1, "all_in")
    assert trades(block) == [(1, 3, "time")]
    assert block["trade_log"][0]["symbol"] == "BBB_KRW"
    assert block["trade_log"][0]["pnl"] == pytest.approx(-541.8719212, abs=1e-7)
    assert block["skipped_entries"] == 1
    assert block["final_equity"] == pytest.approx(9458.1280788, abs=1e-7)


def test_given_example_g_with_two_equal_slots_when_both_enter_then_5000_each():
    block = shared_g(2, "equal_slots")
    log = block["trade_log"]
    assert [t["symbol"] for t in log] == ["BBB_KRW", "AAA_KRW"]
    assert [t["entry_notional"] for t in log] == pytest.approx([5000, 5000])
    assert [t["pnl"] for t in log] == pytest.approx([-270.9359606, 240.3846154], abs=1e-7)
    assert block["final_equity"] == pytest.approx(9969.4486548, abs=1e-7)
    assert block["max_drawdown_pct"] == pytest.approx(0.7625995, abs=1e-7)
    assert block["equity_curve"]["equity"][-1] == pytest.approx(block["final_equity"])
    assert len(block["equity_curve"]["t"]) == 5


def test_given_examples_e_and_g_when_run_by_the_reference_loop_then_it_agrees_with_the_docs():
    from sim_reference import reference_portfolio, reference_symbol

    e = reference_symbol(bars_of("BTC_KRW", E_BARS, E_ENTRIES),
                         PositionSpec.model_validate(E_POSITION), 0.0, 0.0)
    assert [(t.entry_bar, t.exit_bar, t.exit_reason) for t in e.trades] == [
        (1, 3, "take_profit"), (5, 6, "stop_loss"), (7, 8, "end_of_data")]
    assert (e.equity[-1] - 1) * 100 == pytest.approx(0.9747073, abs=1e-7)
    g = reference_portfolio([bars_of("AAA_KRW", AAA, [1], 1.0), bars_of("BBB_KRW", BBB, [1, 3], 2.0)],
                            PositionSpec.model_validate({"time_exit_bars": 2, "max_open_positions": 2,
                                                         "sizing": "equal_slots"}), 0.0, 0.0)
    assert g.equity[-1] == pytest.approx(9969.4486548, abs=1e-7)


@pytest.mark.parametrize(("timeframe", "freq"), [("1h", "h"), ("1d", "D")])
def test_given_example_e_at_a_timeframe_then_curve_points_carry_a_timestamp_when_intraday(
        timeframe, freq):
    frame = pd.DataFrame([(*row, 100.0) for row in E_BARS],
                         columns=["open", "high", "low", "close", "volume"])
    frame.insert(0, "timestamp", pd.date_range("2024-01-01", periods=9, freq=freq, tz="UTC"))
    definition = {"name": "cross_e", "entry": {"crosses_above": [{"price": "close"}, 100.5]}}
    spec = RunSpec(strategy=None, definition=definition, symbols=["BTC_KRW"], fee_bps=0.0,
                   position=E_POSITION, timeframe=timeframe)

    doc = run_backtest(spec, reader_for({"BTC_KRW": frame}, timeframe), run_id="e",
                       environment="test")

    symbol = doc["symbols"][0]
    stamps = [s["timestamp"] for s in symbol["signals"]]
    assert len(stamps) == 3  # the three trades of example E, one signal each
    if timeframe == "1h":  # three signals on the same day: the date alone cannot order them
        assert symbol["performance_curve"] == [
            {"date": ts[:10], "timestamp": ts, "equity": p["equity"]}
            for ts, p in zip(stamps, symbol["performance_curve"], strict=True)]
        assert stamps == ["2024-01-01T01:00:00Z", "2024-01-01T05:00:00Z",
                          "2024-01-01T07:00:00Z"]
    else:
        assert all(set(p) == {"date", "equity"} for p in symbol["performance_curve"])


def test_given_a_result_document_then_the_published_metrics_schema_describes_it():
    from backtest_contract.metrics import ResultDocument

    frame = pd.DataFrame([(*row, 100.0) for row in E_BARS],
                         columns=["open", "high", "low", "close", "volume"])
    frame.insert(0, "timestamp", pd.date_range("2024-01-01", periods=9, freq="D", tz="UTC"))
    definition = {"name": "cross_e", "entry": {"crosses_above": [{"price": "close"}, 100.5]}}
    spec = RunSpec(strategy=None, definition=definition, symbols=["BTC_KRW"], fee_bps=0.0,
                   position=E_POSITION)
    doc = run_backtest(spec, reader_for({"BTC_KRW": frame}), run_id="e", environment="test")

    parsed = ResultDocument.model_validate(doc)

    symbol = parsed.symbols[0]
    assert symbol.portfolio.total_return_pct == doc["symbols"][0]["portfolio"]["total_return_pct"]
    assert [t.exit_reason for t in symbol.portfolio.trade_log] == [
        "take_profit", "stop_loss", "end_of_data"]
    assert parsed.portfolio.final_equity == doc["portfolio"]["final_equity"]
    assert symbol.max_drawdown == doc["symbols"][0]["max_drawdown"]
