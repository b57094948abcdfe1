"""Portfolio block (docs/engine.md, "Metrics") against a plain bar-by-bar walk kept here as the reference."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest_engine.portfolio import equity_by_bar, portfolio_statistics, simulate


def _walk(close, signals, hold, fee, slip):
    """The portfolio rule of docs/engine.md literally: one loop over bars; returns (equity per bar, trade pnl list)."""
    n, equity, units, exit_at, entered_with = len(close), 1.0, 0.0, -1, 0.0
    curve, pnl = [], []
    for t in range(n):
        if exit_at == t:
            equity = units * close[t] * (1 - slip) * (1 - fee)
            pnl.append(equity - entered_with)
            exit_at = -1
            curve.append(equity)
            continue
        if exit_at < 0 and t in signals and min(t + hold, n - 1) > t:
            entered_with = equity
            units = equity * (1 - fee) / (close[t] * (1 + slip))
            exit_at = min(t + hold, n - 1)
        curve.append(units * close[t] if exit_at >= 0 else equity)
    return np.array(curve), pnl


@settings(max_examples=200, deadline=None)
@given(
    close=st.lists(st.floats(1.0, 1000.0), min_size=1, max_size=40),
    data=st.data(),
    hold=st.integers(1, 6),
    fee_bps=st.sampled_from([0.0, 5.0, 30.0]),
    slip_bps=st.sampled_from([0.0, 2.0]),
)
def test_given_random_signals_when_simulating_then_equity_matches_bar_walk(
        close, data, hold, fee_bps, slip_bps):
    close = np.array(close)
    signals = sorted(data.draw(st.sets(st.integers(0, len(close) - 1))))
    index = np.array(signals, dtype=np.int64)
    trades = simulate(close, index, hold, fee_bps / 1e4, slip_bps / 1e4)
    expected_curve, expected_pnl = _walk(close.tolist(), set(signals), hold, fee_bps / 1e4,
                                         slip_bps / 1e4)
    np.testing.assert_allclose(equity_by_bar(close, trades), expected_curve, rtol=1e-12)
    np.testing.assert_allclose(trades.equity_after - trades.equity_before, expected_pnl,
                               rtol=1e-9, atol=1e-12)


def test_given_no_signals_when_computing_portfolio_then_flat_and_null_profit_factor():
    stats = portfolio_statistics(np.array([1.0, 2.0, 4.0]), np.array([], dtype=np.int64), 1,
                                 86400)
    assert stats["trades"] == 0 and stats["total_return_pct"] == 0.0
    assert stats["profit_factor"] is None and stats["sharpe"] == 0.0
    assert stats["buy_and_hold_return_pct"] == pytest.approx(300.0)


def test_given_one_winning_trade_when_computing_then_no_loss_means_null_profit_factor():
    stats = portfolio_statistics(np.array([100.0, 110.0, 110.0]), np.array([0]), 1, 86400,
                                 fee_bps=0)
    assert stats["trades"] == 1 and stats["win_rate"] == 1.0
    assert stats["profit_factor"] is None
    assert stats["total_return_pct"] == pytest.approx(10.0)
    assert stats["exposure_pct"] == pytest.approx(100 / 3)
    assert math.isfinite(stats["sharpe"]) and stats["sortino"] == 0.0
