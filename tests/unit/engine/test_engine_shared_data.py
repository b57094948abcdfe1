"""Optional checks on real exchange candles in ../shared/data (skipped when absent)."""

import json

import numpy as np
import pytest
from engine_helpers import SHARED_DATA
from engine_vzb_reference import reference_levels

from backtest_engine import infer_timeframe, load_csv, to_parquet_layout
from backtest_engine.cli import main
from backtest_engine.formats import read_parquet
from backtest_engine.strategies._profile import resistance_levels

CRYPTO = SHARED_DATA / "crypto-2018"
pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not CRYPTO.is_dir(), reason="../shared/data is absent"),
]


def test_given_real_5m_csv_when_loading_then_valid_and_timeframe_5m():
    df = load_csv(CRYPTO / "ETH_BTC-5m.csv")
    assert len(df) > 5000 and infer_timeframe(df) == "5m"


def test_given_real_csv_when_round_tripping_parquet_then_identical_candles():
    df = load_csv(CRYPTO / "XRP_ETH-5m.csv")
    layout = to_parquet_layout(df, "XRP_ETH", "5m")
    (key, data), = layout.items()
    back = read_parquet(data, key)
    np.testing.assert_array_equal(back.close, df["close"].to_numpy())


def test_given_real_bars_when_profiling_then_fast_equals_reference_away_from_ties():
    df = load_csv(CRYPTO / "LTC_BTC-5m.csv").iloc[:1500]
    low, high, vol = (df[c].to_numpy() for c in ("low", "high", "volume"))
    fast = resistance_levels(low, high, vol, 10, 20, 0.2)
    expected, tie = reference_levels(low, high, vol, 10, 20, 0.2)
    np.testing.assert_array_equal(fast[~tie], expected[~tie])


def test_given_real_csv_when_running_cli_json_then_valid_document(capsys):
    status = main(["run", "--strategy", "volume_zone_breakout", "--csv",
                   str(CRYPTO / "ETH_BTC-5m.csv"), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert status == 0 and doc["version"] == "1.3.0" and doc["timeframe"] == "5m"
    assert doc["symbols"][0]["symbol"] == "ETH_BTC" and doc["total_signals"] > 0
