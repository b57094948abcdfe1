"""``run_backtest(summary=True)``: the summary view built directly equals the summary view
of the whole document (what ``backtest run`` prints as a table is built that way)."""

import numpy as np
import pandas as pd
import pytest

from backtest_contract.results import SUMMARY_MAX_TRADES
from backtest_core.usecases.views import summary_document
from backtest_engine import MemoryReader, RunSpec, run_backtest, to_parquet_layout

BARS = 4000


def _random_hours(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, BARS)))
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame({
        "timestamp": pd.date_range("2024-01-01", periods=BARS, freq="h", tz="UTC"),
        "open": open_, "high": np.maximum(open_, close) * 1.001,
        "low": np.minimum(open_, close) * 0.999, "close": close,
        "volume": rng.uniform(1, 1000, BARS)})


def _volatile(doc: dict) -> dict:
    """The document without what differs between two runs (id, times)."""
    out = {k: v for k, v in doc.items() if k not in ("run_id", "execution_time")}
    out["metadata"] = {k: v for k, v in doc["metadata"].items() if k != "execution_date"}
    return out


@pytest.mark.parametrize("position", [
    {"time_exit_bars": 1, "max_open_positions": 2, "sizing": "equal_slots"},
    {"stop_loss": {"pct": 0.5}, "trailing_stop": {"pct": 0.3}, "execution": "next_open"},
])
def test_given_more_trades_than_the_summary_keeps_when_running_with_summary_then_it_is_the_summary_view(
        position):
    objects = {**to_parquet_layout(_random_hours(1), "BTC_KRW", "1h"),
               **to_parquet_layout(_random_hours(2).iloc[100:], "ETH_KRW", "1h")}
    spec = RunSpec(strategy="volume_long_candle", symbols=["BTC_KRW", "ETH_KRW"],
                   timeframe="1h", params={"vol_multiplier": 0.01, "body_pct": 0.004},
                   position=position)
    full = run_backtest(spec, MemoryReader(objects), run_id="r")
    summary = run_backtest(spec, MemoryReader(objects), run_id="r", summary=True)
    assert full["portfolio"]["trades"] > SUMMARY_MAX_TRADES  # the cut is exercised
    assert summary["portfolio"]["trade_log_truncated"] is True
    assert "signals" not in summary["symbols"][0]
    assert _volatile(summary) == _volatile(summary_document(full))
