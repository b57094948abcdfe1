"""Positions over real HTTP (docs/positions.md): three symbols on one cash pool with a stop
loss, a take profit and two slots, run async and run sync.

The stack is started here with a third symbol beside the demo's BTC_KRW and ETH_KRW: the
demo generator's random walk with another seed, served from a ``SYMBOL-TF.csv`` of
``DATA_DIRS``. Checked: never more than two positions open at once (from the root trade
log), skipped entries consistent with the slots, documented exit reasons (a tight stop, so
``stop_loss`` occurs), ``/trades.csv`` = the trade log, async result = sync result.
"""

from __future__ import annotations

import csv
import io
import os
import urllib.request
from collections.abc import Iterator

import pytest

from infra.local import demo_data
from tests.e2e.api_calls import call
from tests.e2e.conftest import running_stack
from tests.e2e.test_api_flow import wait_terminal

pytestmark = pytest.mark.skipif(bool(os.environ.get("API_URL")),
                                reason="needs the local stack (API_URL targets another one)")

THIRD = "XRP_KRW"
SYMBOLS = ["BTC_KRW", "ETH_KRW", THIRD]
REASONS = {"stop_loss", "take_profit", "trailing_stop", "time", "signal", "end_of_data"}
DOC = {"name": "close_over_sma", "description": "Close above its 5-bar SMA",
       "entry": {"gt": [{"price": "close"}, {"ind": "sma", "length": 5}]}}
POSITION = {"stop_loss": {"pct": 1.5}, "take_profit": {"rr": 2}, "sizing": "equal_slots",
            "max_open_positions": 2, "initial_capital": 1_000_000}
BODY = {"definition": DOC, "position": POSITION, "symbols": SYMBOLS,
        "start_date": "2024-01-01", "end_date": "2024-12-31", "timeframe": "1d"}
NUMERIC = ("entry_price", "exit_price", "bars_held", "quantity", "entry_notional", "fees",
           "pnl", "return_pct")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("third-symbol")
    with pytest.MonkeyPatch.context() as mp:  # one more seeded walk of the demo generator
        mp.setitem(demo_data.DEMO_SYMBOLS, THIRD, (20240103, 800.0, 950.0, 500.0, 1500.0))
        frame = demo_data.synthetic_candles(THIRD, "1d")
    frame = frame[frame["timestamp"] < "2025-01-01"]
    frame.to_csv(data / f"{THIRD}-1d.csv", index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    with running_stack(data / "stack.log", WORKERS="2", LOCAL_VISIBILITY_TIMEOUT="3",
                       DATA_DIRS=str(data)) as stack:
        yield stack.api_url


@pytest.fixture(scope="module")
def async_run(api: str) -> tuple[str, dict]:
    status, _, created = call(api, "POST", "/api/backtests/run-async", BODY)
    assert status == 200, created
    final = wait_terminal(api, created["task_id"])[-1]
    assert final["status"] == "completed", final
    status, _, document = call(api, "GET", f"/api/backtests/{created['task_id']}")
    assert status == 200, document
    return created["task_id"], document


def max_open(trades: list[dict]) -> int:
    """Most positions open at once: exits at a timestamp come before its entries."""
    events = sorted([(t["entry_time"], 1) for t in trades] + [(t["exit_time"], 0) for t in trades])
    open_now = most = 0
    for _, is_entry in events:
        open_now += 1 if is_entry else -1
        most = max(most, open_now)
    return most


def test_given_two_slots_for_three_symbols_when_run_async_then_never_more_than_two_open(
        async_run):
    _, document = async_run
    root = document["portfolio"]
    trades = root["trade_log"]

    assert {t["symbol"] for t in trades} == set(SYMBOLS)
    assert max_open(trades) == 2  # the slots fill up, and never overflow
    assert root["trades"] == len(trades)
    assert isinstance(root["skipped_entries"], int) and root["skipped_entries"] > 0
    assert {t["exit_reason"] for t in trades} <= REASONS
    assert any(t["exit_reason"] == "stop_loss" for t in trades)
    for t in trades:
        if t["exit_reason"] == "stop_loss":  # filled at the level, or lower after a gap
            assert t["exit_price"] <= t["entry_price"] * (1 - 0.015) * (1 + 1e-12)
    assert all(s["portfolio"]["skipped_entries"] == 0 for s in document["symbols"])


def test_given_as_many_slots_as_symbols_then_nothing_is_skipped_and_trades_are_each_symbols_own(
        api):
    body = {**BODY, "position": {**POSITION, "max_open_positions": len(SYMBOLS)}}
    status, _, document = call(api, "POST", "/api/backtests/run", body)
    assert status == 200, document

    assert document["portfolio"]["skipped_entries"] == 0

    def key(t: dict) -> tuple:
        return t["symbol"], t["entry_time"], t["exit_time"], t["exit_reason"]

    own = sorted(key(t) for s in document["symbols"] for t in s["portfolio"]["trade_log"])
    assert sorted(key(t) for t in document["portfolio"]["trade_log"]) == own


def test_given_a_completed_run_then_trades_csv_rows_equal_the_root_trade_log(api, async_run):
    task_id, document = async_run
    with urllib.request.urlopen(f"{api}/api/backtests/{task_id}/trades.csv", timeout=30) as resp:
        assert resp.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(resp.read().decode())))

    trades = document["portfolio"]["trade_log"]
    assert len(rows) == len(trades) > 0
    for row, trade in zip(rows, trades, strict=True):
        assert set(row) == set(trade)
        for column, value in row.items():
            expected = trade[column]
            assert (float(value) if column in NUMERIC else value) == expected, column


def test_given_the_same_request_when_run_sync_then_it_equals_the_async_result(api, async_run):
    _, document = async_run
    status, _, sync = call(api, "POST", "/api/backtests/run", BODY)
    assert status == 200, sync

    assert sync["portfolio"]["trade_log"] == document["portfolio"]["trade_log"]
    assert sync["portfolio"]["final_equity"] == document["portfolio"]["final_equity"]
    assert sync["portfolio"]["skipped_entries"] == document["portfolio"]["skipped_entries"]
    assert [s["portfolio"]["trade_log"] for s in sync["symbols"]] == [
        s["portfolio"]["trade_log"] for s in document["symbols"]]
