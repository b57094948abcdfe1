"""Four hand-computed worked examples (A-D: daily bars from 2024-01-01, the candles in
engine_helpers.py) for both built-in strategies, reproduced to 1e-7."""

import numpy as np
import pytest
from engine_helpers import (
    EXAMPLE_A,
    EXAMPLE_B,
    EXAMPLE_C,
    EXAMPLE_D,
    candles,
    returns_pct,
    run_rows,
    signal_rows,
)

from backtest_engine.strategies._profile import resistance_levels

TOL = 1e-7
A_PARAMS = {"volume_window": 3, "num_bins": 4, "top_percentile": 0.2,
            "breakout_buffer": 0, "hold_period_bars": 1, "include_wicks": True}


def test_given_example_a_when_profiling_then_resistance_levels_match_spec():
    c = candles(EXAMPLE_A)
    levels = resistance_levels(c.low, c.high, c.volume, 3, 4, 0.2)
    assert np.isnan(levels[:3]).all()
    np.testing.assert_allclose(levels[3:], [102, 103, 103.5, 105.25], rtol=0, atol=TOL)


def test_given_example_a_when_running_breakout_then_signals_and_stats_match_spec():
    result = run_rows("volume_zone_breakout", A_PARAMS, EXAMPLE_A)["symbols"][0]
    assert signal_rows(result) == [3, 4, 5, 6]
    np.testing.assert_allclose(returns_pct(result), [-0.4807692, 3.3816425, -0.4672897, 0.0],
                               atol=TOL)
    assert result["win_rate"] == pytest.approx(0.25, abs=TOL)
    assert result["avg_return"] == pytest.approx(0.6083959, abs=TOL)
    assert result["max_drawdown"] == pytest.approx(0.4672897, abs=TOL)
    assert result["avg_hold_bars"] == 1.0


def test_given_example_a_with_5_bps_fee_when_running_then_portfolio_matches_spec():
    portfolio = run_rows("volume_zone_breakout", A_PARAMS, EXAMPLE_A,
                         fee_bps=5)["symbols"][0]["portfolio"]
    assert portfolio["trades"] == 2
    expected = {"total_return_pct": -1.1437722, "max_drawdown_pct": 1.1437722,
                "exposure_pct": 28.5714286, "sharpe": -14.1314409, "profit_factor": 0.0,
                "buy_and_hold_return_pct": 5.4455446}
    for key, value in expected.items():
        assert portfolio[key] == pytest.approx(value, abs=TOL), key


def test_given_example_b_when_running_long_candle_then_signals_and_stats_match_spec():
    params = {"vol_ma_window": 3, "vol_multiplier": 1.5, "body_pct": 0.02,
              "hold_period_bars": 1}
    result = run_rows("volume_long_candle", params, EXAMPLE_B)["symbols"][0]
    assert signal_rows(result) == [2, 4]
    np.testing.assert_allclose(returns_pct(result), [-0.4830918, -1.4150943], atol=TOL)
    assert result["win_rate"] == 0.0
    assert result["avg_return"] == pytest.approx(-0.9490931, abs=TOL)
    assert result["max_drawdown"] == pytest.approx(1.4150943, abs=TOL)


def test_given_flat_windows_when_running_breakout_then_only_rows_4_and_5_signal():
    result = run_rows("volume_zone_breakout", {"volume_window": 3}, EXAMPLE_C)["symbols"][0]
    assert signal_rows(result) == [4, 5]
    np.testing.assert_allclose(returns_pct(result), [4.385965, 0.0], atol=1e-6)


def test_given_ramp_when_running_breakout_defaults_then_90_signals_from_row_10():
    result = run_rows("volume_zone_breakout", {}, EXAMPLE_D)["symbols"][0]
    assert signal_rows(result) == list(range(10, 100))
    assert result["win_rate"] == pytest.approx(89 / 90, abs=TOL)
    assert result["avg_return"] == pytest.approx(0.0934345, abs=TOL)
    assert result["max_drawdown"] == pytest.approx(0.0, abs=TOL)


def test_given_ramp_when_running_long_candle_defaults_then_no_signals_and_zero_stats():
    result = run_rows("volume_long_candle", {}, EXAMPLE_D)["symbols"][0]
    assert result["signals"] == []
    assert result["performance_curve"] is None
    assert (result["win_rate"], result["avg_return"], result["max_drawdown"],
            result["avg_hold_bars"]) == (0.0, 0.0, 0.0, 0.0)
