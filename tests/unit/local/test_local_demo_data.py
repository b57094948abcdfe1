"""Synthetic demo candles: deterministic, KRW-scaled, signal-rich, seeded fast."""

from __future__ import annotations

import time
from datetime import date

import boto3
import pytest
from moto import mock_aws

from infra.local.demo_data import SYNTHETIC_SOURCE, seed, synthetic_candles


def test_given_same_symbol_when_generated_twice_then_identical() -> None:
    assert synthetic_candles("BTC_KRW", "1d").equals(synthetic_candles("BTC_KRW", "1d"))


@pytest.mark.parametrize(("symbol", "low", "high"), [
    ("BTC_KRW", 60e6, 140e6), ("ETH_KRW", 3e6, 6e6),
])
def test_given_demo_symbol_when_generated_then_two_utc_years_in_krw_range(
    symbol: str, low: float, high: float,
) -> None:
    daily, hourly = synthetic_candles(symbol, "1d"), synthetic_candles(symbol, "1h")

    assert len(daily) == 731 and len(hourly) == 731 * 24
    assert str(daily["timestamp"].iloc[0]) == "2024-01-01 00:00:00+00:00"
    assert str(daily["timestamp"].iloc[-1]) == "2025-12-31 00:00:00+00:00"
    assert low <= daily["low"].min() and daily["high"].max() <= high * 1.01
    assert (daily["high"] >= daily[["open", "close"]].max(axis=1)).all()
    assert (daily["low"] <= daily[["open", "close"]].min(axis=1)).all()


@pytest.mark.parametrize("strategy", ["volume_zone_breakout", "volume_long_candle"])
def test_given_daily_2024_when_backtested_with_defaults_then_signals(strategy: str) -> None:
    from backtest_engine import MemoryReader, RunSpec, run_backtest, to_parquet_layout

    objects = {}
    for symbol in ("BTC_KRW", "ETH_KRW"):
        objects.update(to_parquet_layout(synthetic_candles(symbol, "1d"), symbol, "1d"))

    doc = run_backtest(RunSpec(strategy=strategy, params={}, symbols=["BTC_KRW", "ETH_KRW"],
                               start_date=date(2024, 1, 1), end_date=date(2024, 12, 31),
                               timeframe="1d"), MemoryReader(objects))

    assert all(len(s["signals"]) >= 10 for s in doc["symbols"])


def test_given_bucket_when_seeded_then_layout_and_source_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="demo-bucket")
        started = time.perf_counter()

        count = seed(s3, "demo-bucket", "data/")

        elapsed_s = time.perf_counter() - started
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="demo-bucket")["Contents"])
        head = s3.head_object(Bucket="demo-bucket", Key="data/BTC_KRW/1D/2024.parquet")
    assert count == 8 and len(keys) == 9 and "data/_inventory.json" in keys  # + the manifest
    assert "data/ETH_KRW/1H/2025.parquet" in keys
    assert head["Metadata"]["source"] == SYNTHETIC_SOURCE
    assert elapsed_s < 2.0


def test_given_csv_dir_when_seeded_then_symbol_and_timeframe_from_file_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path,
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    (tmp_path / "ETH_BTC-5m.csv").write_text(
        "timestamp,open,high,low,close,volume\n"
        "2018-01-10T04:55:00Z,1,2,0.5,1.5,10\n2018-01-10T05:00:00Z,1.5,2,1,1.8,12\n")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="demo-bucket")

        count = seed(s3, "demo-bucket", "data/", [str(tmp_path)], synthetic=False)

        head = s3.head_object(Bucket="demo-bucket", Key="data/ETH_BTC/5M/2018.parquet")
    assert count == 1
    assert head["Metadata"]["source"] == "ETH_BTC-5m.csv"
