"""Fail early (issue 17.6): a submit whose every symbol lacks data at its timeframe is a 422
naming the stored timeframes; the listing behind the check is cached per container."""

from __future__ import annotations

import pytest

from backtest_core.errors import ValidationFailed
from backtest_core.stored_timeframes import StoredTimeframes

BODY = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"], "start_date": "2024-01-01",
        "end_date": "2024-01-31", "timeframe": "1d"}
ROUTES = ("/api/backtests/run-async", "/api/backtests/run", "/api/sweeps/run-async")


class Listing:
    """The keys under the data prefix; counts how often they were listed."""

    def __init__(self, *keys: str):
        self.keys = list(keys)
        self.calls = 0

    def __call__(self) -> list[str]:
        self.calls += 1
        return list(self.keys)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_given_no_symbol_at_the_timeframe_when_checked_then_422_at_timeframe_naming_stored():
    index = StoredTimeframes(Listing("BTC_KRW/1D/2024.parquet", "KRW-BTC/1H/2024.parquet",
                                     "ETH_KRW/1D/2024.parquet", "_inventory.json"))

    with pytest.raises(ValidationFailed) as caught:
        index.check(["BTC_KRW", "ETH_KRW", "DOGE_KRW"], "15m")

    (error,) = caught.value.detail
    assert error["loc"] == ["body", "timeframe"] and error["type"] == "data_missing"
    assert error["msg"] == (
        "No stored data at timeframe 15m for any requested symbol; stored timeframes: "
        "BTC_KRW: 1h, 1d; ETH_KRW: 1d; DOGE_KRW: none (GET /api/data/inventory lists what "
        "is stored)")


def test_given_one_symbol_of_several_at_the_timeframe_when_checked_then_accepted():
    index = StoredTimeframes(Listing("BTC_KRW/1D/2024.parquet", "ETH_KRW/15M/2024.parquet"))

    assert index.check(["BTC_KRW", "ETH_KRW"], "15m") is None


def test_given_accepts_within_the_ttl_then_one_listing_and_after_it_a_new_one():
    listing, clock = Listing("BTC_KRW/1D/2024.parquet"), Clock()
    index = StoredTimeframes(listing, ttl_s=60, clock=clock)

    for _ in range(5):
        index.check(["BTC_KRW"], "1d")
        clock.now += 10
    assert listing.calls == 1
    clock.now += 60
    index.check(["BTC_KRW"], "1d")
    assert listing.calls == 2


def test_given_data_stored_after_the_cached_listing_when_checked_then_relisted_and_accepted():
    listing, clock = Listing("BTC_KRW/1D/2024.parquet"), Clock()
    index = StoredTimeframes(listing, ttl_s=60, clock=clock)
    index.check(["BTC_KRW"], "1d")

    listing.keys.append("BTC_KRW/1H/2024.parquet")  # fetched a moment ago
    index.check(["BTC_KRW"], "1h")

    assert listing.calls == 2


@pytest.mark.parametrize("path", ROUTES)
def test_given_a_timeframe_no_symbol_has_when_submitted_then_422_naming_stored(api, aws, path):
    body = {**BODY, "symbols": ["BTC_KRW", "DOGE_KRW"], "timeframe": "15m"}
    if "sweeps" in path:
        body["grid"] = {"volume_window": [10, 20]}

    reply = api.call("POST", path, body)

    assert reply.status == 422, reply.body
    (error,) = reply.body["detail"]
    assert error["loc"] == ["body", "timeframe"]
    assert "stored timeframes: BTC_KRW: 1h, 1d; DOGE_KRW: none" in error["msg"]
    queue = aws.client("sqs").receive_message(QueueUrl=aws.env["JOBS_QUEUE_URL"])
    assert queue.get("Messages", []) == []


@pytest.mark.parametrize("path", ROUTES)
def test_given_one_symbol_with_the_timeframe_when_submitted_then_accepted(api, path):
    body = {**BODY, "symbols": ["DOGE_KRW", "ETH_KRW"], "timeframe": "1h"}
    if "sweeps" in path:
        body["grid"] = {"volume_window": [10, 20]}

    reply = api.call("POST", path, body)

    assert reply.status == 200, reply.body
