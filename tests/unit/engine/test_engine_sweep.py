"""Property: every combination of a sweep shard equals the single backtest with its params."""

import itertools

import numpy as np
import pytest
from engine_helpers import frame, reader_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_property import candle_rows

from backtest_engine import RunSpec, run_backtest
from backtest_engine.errors import BacktestCancelled
from backtest_engine.sweep import return_moments, run_sweep_shard

FIELDS = ("win_rate", "avg_return", "max_drawdown", "portfolio")
DETAIL = ("equity_curve", "trade_log")  # a single run's portfolio only: leaderboards stay small


def _block(doc: dict) -> dict:
    out = {k: doc[k] for k in FIELDS}
    out["portfolio"] = {k: v for k, v in doc["portfolio"].items() if k not in DETAIL}
    return out


def _single(strategy: str, params: dict, reader) -> dict:
    spec = RunSpec(strategy=strategy, params=params, symbols=["BTC_KRW"])
    return run_backtest(spec, reader, run_id="single")["symbols"][0]


def _grid(grid: dict) -> list[dict]:
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=candle_rows(),
    windows=st.lists(st.integers(1, 8), min_size=1, max_size=2, unique=True),
    fractions=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=6, unique=True),
    bins=st.sampled_from([1, 4, 7]),
    buffers=st.lists(st.sampled_from([0.0, 0.002, 0.05]), min_size=1, max_size=2, unique=True),
    holds=st.lists(st.integers(1, 4), min_size=1, max_size=2, unique=True),
    wicks=st.booleans(),
)
def test_given_random_candles_and_vzb_grid_when_sweeping_then_each_entry_equals_single_run(
        rows, windows, fractions, bins, buffers, holds, wicks):
    reader = reader_for({"BTC_KRW": frame(rows)})
    combos = _grid({"volume_window": windows, "top_percentile": fractions,
                    "breakout_buffer": buffers, "hold_period_bars": holds})
    combos = [{**c, "num_bins": bins, "include_wicks": wicks} for c in combos]
    spec = RunSpec(strategy="volume_zone_breakout", symbols=["BTC_KRW"])

    shard = run_sweep_shard(spec, reader, "BTC_KRW", combos)

    assert shard["bars"] == len(rows) and len(shard["entries"]) == len(combos)
    for combo, entry in zip(combos, shard["entries"], strict=True):
        single = _single("volume_zone_breakout", combo, reader)
        assert entry["total_signals"] == len(single["signals"])
        assert _block(entry) == _block(single)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=candle_rows(), windows=st.lists(st.integers(1, 6), min_size=1, max_size=3),
       multipliers=st.lists(st.sampled_from([0.5, 1.0, 1.5]), min_size=1, max_size=2))
def test_given_random_candles_and_vlc_grid_when_sweeping_then_each_entry_equals_single_run(
        rows, windows, multipliers):
    reader = reader_for({"BTC_KRW": frame(rows)})
    combos = _grid({"vol_ma_window": windows, "vol_multiplier": multipliers})
    spec = RunSpec(strategy="volume_long_candle", symbols=["BTC_KRW"])

    shard = run_sweep_shard(spec, reader, "BTC_KRW", combos)

    for combo, entry in zip(combos, shard["entries"], strict=True):
        single = _single("volume_long_candle", combo, reader)
        assert entry["total_signals"] == len(single["signals"])
        assert _block(entry) == _block(single)


def test_given_unknown_symbol_when_sweeping_then_the_shard_reports_the_reason():
    reader = reader_for({"BTC_KRW": frame([(1, 2, 1, 2, 1)] * 5)})
    spec = RunSpec(strategy="volume_zone_breakout", symbols=["ETH_KRW"])

    shard = run_sweep_shard(spec, reader, "ETH_KRW", [{}])

    assert shard["entries"] == [] and shard["failed_reason"] == "No data files for ETH_KRW at 1d"


def test_given_cancel_when_sweeping_then_it_stops():
    rows = [(100 + i % 7, 103 + i % 7, 99 + i % 5, 101 + i % 3, 10 + i) for i in range(300)]
    reader = reader_for({"BTC_KRW": frame(rows)})
    spec = RunSpec(strategy="volume_zone_breakout", symbols=["BTC_KRW"])

    with pytest.raises(BacktestCancelled):
        run_sweep_shard(spec, reader, "BTC_KRW", [{}, {"volume_window": 5}], lambda: True)


def test_given_known_returns_when_computing_moments_then_they_match_the_definitions():
    equity = np.cumprod(np.r_[1.0, 1 + np.array([0.01, -0.02, 0.03, 0.0, 0.01])])
    r = np.array([0.01, -0.02, 0.03, 0.0, 0.01])

    got = return_moments(equity)

    d = r - r.mean()
    assert got["sharpe_per_bar"] == pytest.approx(r.mean() / r.std(ddof=1), rel=1e-12)
    assert got["skewness"] == pytest.approx((d**3).mean() / (d**2).mean() ** 1.5, rel=1e-9)
    assert got["kurtosis"] == pytest.approx((d**4).mean() / (d**2).mean() ** 2, rel=1e-9)
