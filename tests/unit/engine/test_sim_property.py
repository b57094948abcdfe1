"""The array simulator against the per-row reference loop (sim_reference.py) on random
bars, masks and position configurations: every exit kind, sizing mode, slot limits,
priorities, next_open execution, gaps and unequal calendars."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_reference import RefResult, reference_portfolio, reference_symbol

from backtest_contract.position import PositionSpec
from backtest_engine.sim import (
    REASONS,
    SimResult,
    SymbolBars,
    compute_atrs,
    simulate_portfolio,
    simulate_symbol,
)

DAY_NS = 86_400 * 10**9


@st.composite
def configs(draw) -> PositionSpec:
    stop = draw(st.sampled_from([None, "pct", "atr"]))
    take = draw(st.sampled_from([None, "pct", "atr", "rr"] if stop else [None, "pct", "atr"]))
    spec: dict = {"execution": draw(st.sampled_from(["close", "next_open"]))}
    if stop == "pct":
        spec["stop_loss"] = {"pct": draw(st.floats(0.5, 15))}
    elif stop == "atr":
        spec["stop_loss"] = {"atr": draw(st.floats(0.3, 3)), "length": draw(st.integers(2, 4))}
    if take == "pct":
        spec["take_profit"] = {"pct": draw(st.floats(0.5, 20))}
    elif take == "atr":
        spec["take_profit"] = {"atr": draw(st.floats(0.3, 4)), "length": draw(st.integers(2, 4))}
    elif take == "rr":
        spec["take_profit"] = {"rr": draw(st.floats(0.5, 3))}
    if draw(st.booleans()):
        spec["trailing_stop"] = {"pct": draw(st.floats(0.5, 10)),
                                 "activation_pct": draw(st.sampled_from([0.0, 1.0, 3.0]))}
    spec["time_exit_bars"] = draw(st.sampled_from([None, 1, 2, 5]))
    mode = draw(st.sampled_from(["all_in", "fraction", "fixed_quote", "equal_slots"]))
    spec["sizing"] = {"mode": mode}
    if mode == "fraction":
        spec["sizing"]["value"] = draw(st.sampled_from([0.1, 0.5, 1.0]))
    elif mode == "fixed_quote":
        spec["sizing"]["value"] = draw(st.sampled_from([500.0, 3000.0, 20000.0]))
    spec["max_open_positions"] = draw(st.integers(1, 3))
    spec["initial_capital"] = 10000.0
    return PositionSpec.model_validate(spec)


@st.composite
def symbol_bars(draw, name: str, calendar: int) -> SymbolBars:
    days = draw(st.lists(st.booleans(), min_size=calendar, max_size=calendar))
    keep = [i for i, d in enumerate(days) if d] or [0, 1]
    if len(keep) < 2:
        keep = [keep[0], keep[0] + 1]
    n = len(keep)
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, n)))
    gap = rng.normal(0, 0.02, n) * (rng.random(n) < 0.3)  # some bars open far away
    open_ = np.concatenate([[close[0]], close[:-1]]) * (1 + gap)
    high = np.maximum(open_, close) * (1 + rng.exponential(0.015, n))
    low = np.minimum(open_, close) * (1 - rng.exponential(0.015, n))
    density = draw(st.sampled_from([0.1, 0.4, 0.9]))
    entry = rng.random(n) < density
    exit_ = (rng.random(n) < 0.2) if draw(st.booleans()) else None
    priority = None
    if draw(st.booleans()):
        priority = rng.integers(0, 3, n).astype(float)
        priority[rng.random(n) < 0.2] = np.nan
    return SymbolBars(name, np.array(keep, dtype=np.int64) * DAY_NS, open_, high, low, close,
                      entry=entry, exit=exit_, priority=priority)


def with_atr(bars: SymbolBars, config: PositionSpec) -> SymbolBars:
    return SymbolBars(bars.symbol, bars.ts_ns, bars.open, bars.high, bars.low, bars.close,
                      bars.entry, bars.exit, bars.priority,
                      compute_atrs(bars.high, bars.low, bars.close, config))


def assert_same(got: SimResult, want: RefResult) -> None:
    trades = want.trades
    assert got.trades == len(trades)
    assert got.trade_symbol.tolist() == [t.symbol for t in trades]
    assert got.entry_bar.tolist() == [t.entry_bar for t in trades]
    assert got.exit_bar.tolist() == [t.exit_bar for t in trades]
    assert [REASONS[r] for r in got.reason.tolist()] == [t.exit_reason for t in trades]
    for name in ("entry_price", "exit_price", "quantity", "entry_notional"):
        assert getattr(got, name) == pytest.approx([getattr(t, name) for t in trades],
                                                   rel=1e-9, abs=1e-12), name
    assert got.skipped_entries == want.skipped_entries
    assert got.exposed_bars == want.exposed_bars
    assert got.timeline_ns.tolist() == want.timeline_ns.tolist()
    assert got.equity == pytest.approx(want.equity, rel=1e-9)


SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(data=st.data(), config=configs(), fee=st.sampled_from([0.0, 5e-4]),
       slippage=st.sampled_from([0.0, 1e-3]))
def test_given_random_bars_and_config_when_simulating_one_symbol_then_it_equals_the_loop(
        data, config, fee, slippage):
    bars = with_atr(data.draw(symbol_bars("AAA_KRW", data.draw(st.integers(3, 40)))), config)
    assert_same(simulate_symbol(bars, config, fee, slippage),
                reference_symbol(bars, config, fee, slippage))


@SETTINGS
@given(data=st.data(), config=configs(), fee=st.sampled_from([0.0, 5e-4]),
       slippage=st.sampled_from([0.0, 1e-3]))
def test_given_random_symbols_on_unequal_calendars_when_sharing_cash_then_it_equals_the_loop(
        data, config, fee, slippage):
    calendar = data.draw(st.integers(3, 30))
    count = data.draw(st.integers(1, 3))
    symbols = [with_atr(data.draw(symbol_bars(f"S{k}_KRW", calendar)), config)
               for k in range(count)]
    assert_same(simulate_portfolio(symbols, config, fee, slippage),
                reference_portfolio(symbols, config, fee, slippage))


@pytest.mark.parametrize("execution", ["close", "next_open"])
def test_given_positions_longer_than_the_widest_scan_window_when_simulating_then_the_reference(
        execution):
    n = 30_000  # a slow climb with shallow dips: the trail and stop hold for ~10,000 bars
    rise = 100 * np.exp(np.arange(n) * 2e-5 + 0.001 * np.sin(np.arange(n) / 7))
    close = np.where(np.arange(n) % 10_000 == 9_999, rise * 0.8, rise)  # a crash now and then
    open_ = np.r_[close[0], close[:-1]]
    entry = np.zeros(n, dtype=bool)
    entry[[5, 10_003, 20_010]] = True
    bars = SymbolBars("BTC_KRW", np.arange(n, dtype=np.int64) * 60 * 10**9, open_,
                      np.maximum(open_, close) * 1.0005, np.minimum(open_, close) * 0.9995,
                      close, entry=entry)
    config = PositionSpec.model_validate({"execution": execution, "stop_loss": {"pct": 10},
                                          "trailing_stop": {"pct": 5, "activation_pct": 1}})
    got, want = simulate_symbol(bars, config, 5e-4, 1e-4), reference_symbol(bars, config, 5e-4,
                                                                            1e-4)
    assert (got.exit_bar - got.entry_bar).min() > 4096  # several scan windows of 4,096 bars
    assert_same(got, want)
