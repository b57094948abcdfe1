"""GET /api/candles (docs/console.md "Candles API") through the real handler, moto behind
it: merged candles, 422 at the field, 404 naming what the inventory has."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

HOURS = 24 * 40  # 2024-01-01 .. 2024-02-09, hourly
OWN_CANDLES = True  # the inventory is exactly what `stored` writes (conftest.py)


@pytest.fixture
def stored(aws):
    """BTC_KRW at 1h, written as the data writers write it (year files + manifest)."""
    from backtest_core.datastore import S3DataStore, record_files
    from backtest_engine import to_parquet_layout
    from infra.local.local_data import describe_file

    rng = np.random.default_rng(17)
    close = 50_000 + np.cumsum(rng.normal(0, 50, HOURS))
    frame = pd.DataFrame({
        "timestamp": pd.date_range("2024-01-01", periods=HOURS, freq="h", tz="UTC"),
        "open": close - 10, "high": close + 40, "low": close - 60, "close": close,
        "volume": rng.uniform(1, 5, HOURS)})
    store = S3DataStore(aws.client("s3"), aws.env["BUCKET"], aws.env["DATA_PREFIX"])
    objects = to_parquet_layout(frame, "BTC_KRW", "1h")
    for key, body in objects.items():
        store.put(key, body, "test")
    record_files(store, {k: describe_file(b, k, source="test", origin="test")
                         for k, b in objects.items()})
    return frame


def candles(api, **query):
    text = "&".join(f"{k}={v}" for k, v in query.items())
    return api.call("GET", "/api/candles", query=text)


BASE = {"symbol": "BTC_KRW", "timeframe": "1h", "start_date": "2024-01-01",
        "end_date": "2024-02-09"}


def test_given_more_bars_than_max_points_when_asked_then_buckets_from_the_first_bar(
        api, stored):
    reply = candles(api, **BASE, max_points=100)
    assert reply.status == 200
    body = reply.body
    assert (body["symbol"], body["timeframe"], body["bucket_bars"]) == ("BTC_KRW", "1h", 10)
    assert len(body["t"]) == 96 and body["t"][1] == "2024-01-01T10:00:00Z"
    first = stored.iloc[:10]
    assert body["open"][0] == first["open"].iloc[0] and body["close"][0] == first["close"].iloc[-1]
    assert body["high"][0] == first["high"].max() and body["low"][0] == first["low"].min()
    assert body["volume"][0] == pytest.approx(first["volume"].sum(), rel=1e-12)


def test_given_the_default_max_points_and_an_alias_symbol_then_raw_bars_of_the_window(
        api, stored):
    reply = candles(api, **{**BASE, "symbol": "KRW-BTC", "start_date": "2024-01-02",
                            "end_date": "2024-01-02"})
    assert reply.status == 200 and reply.body["bucket_bars"] == 1
    assert reply.body["symbol"] == "BTC_KRW" and len(reply.body["close"]) == 24
    assert reply.body["t"][0] == "2024-01-02T00:00:00Z"


@pytest.mark.parametrize(("field", "value"), [
    ("max_points", "99"), ("max_points", "5001"), ("max_points", "many"),
    ("start_date", "2024-13-01"), ("end_date", "yesterday"), ("symbol", "BTC"),
    ("timeframe", "2h"),
])
def test_given_a_bad_query_value_then_422_names_the_field(api, stored, field, value):
    reply = candles(api, **{**BASE, "max_points": "1500", field: value})
    assert reply.status == 422
    assert [item["loc"] for item in reply.body["detail"]] == [["query", field]]


def test_given_end_before_start_or_a_missing_field_then_422_at_that_field(api, stored):
    reply = candles(api, **{**BASE, "start_date": "2024-02-01", "end_date": "2024-01-01"})
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["query", "end_date"]
    missing = candles(api, symbol="BTC_KRW", timeframe="1h", start_date="2024-01-01")
    assert missing.status == 422 and missing.body["detail"][0]["loc"] == ["query", "end_date"]


def test_given_an_unknown_symbol_then_404_names_the_stored_symbols(api, stored):
    reply = candles(api, **{**BASE, "symbol": "DOGE_KRW"})
    assert reply.status == 404
    assert reply.body == {"detail": "Unknown symbol DOGE_KRW; the inventory has: BTC_KRW"}


def test_given_a_timeframe_not_stored_then_404_names_the_symbols_timeframes(api, stored):
    reply = candles(api, **{**BASE, "timeframe": "1d"})
    assert reply.status == 404
    assert reply.body == {"detail": "No candles for BTC_KRW at timeframe 1d; the inventory has "
                                    "BTC_KRW at: 1h"}
