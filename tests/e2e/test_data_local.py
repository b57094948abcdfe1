"""Fetched market data in `make run`: `backtest data fetch` (fake Upbit) writes a directory,
a stack started with it in DATA_DIRS lists it in the inventory and backtests it, naming the
exchange as the data's source, while the demo data stays synthetic for the other pairs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from backtest_client.cli import main
from tests.e2e.api_calls import call
from tests.e2e.conftest import running_stack
from tests.fake_exchange import FakeUpbit, btc_candles

RUN_DEADLINE_S = 60.0

pytestmark = pytest.mark.skipif(bool(os.environ.get("API_URL")),
                                reason="needs the local stack (API_URL targets another one)")


def test_given_fetched_data_in_data_dirs_when_the_stack_runs_then_it_is_listed_and_backtested(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    upbit = FakeUpbit({"KRW-BTC": btc_candles()})
    url = upbit.start()
    try:
        code = main(["data", "fetch", "--exchange", "upbit", "--symbols", "BTC_KRW",
                     "--timeframe", "1h", "--since", "2024-01-01", "--until", "2024-01-25",
                     "--api-base", url, "--out", str(tmp_path / "data"), "--backoff-s", "0.01"])
    finally:
        upbit.stop()
    assert code == 0, capsys.readouterr().err

    with running_stack(tmp_path / "stack.log", WORKERS="1", LOCAL_VISIBILITY_TIMEOUT="3",
                       DATA_DIRS=str(tmp_path / "data")) as stack:
        _, _, inventory = call(stack.api_url, "GET", "/api/data/inventory")
        status, _, created = call(stack.api_url, "POST", "/api/backtests/run-async", {
            "strategy": "volume_zone_breakout", "symbols": ["BTC_KRW", "ETH_KRW"],
            "start_date": "2024-01-01", "end_date": "2024-01-25", "timeframe": "1h"})
        assert status == 200, created
        deadline = time.monotonic() + RUN_DEADLINE_S
        while True:
            _, _, view = call(stack.api_url, "GET",
                              f"/api/backtests/status/{created['task_id']}")
            if view["status"] in ("completed", "failed", "cancelled"):
                break
            assert time.monotonic() < deadline, f"not terminal: {view}\n{stack.tail()}"
            time.sleep(0.1)  # poll pacing inside a deadline loop

    items = {(i["symbol"], i["timeframe"]): i for i in inventory["items"]}
    assert items[("BTC_KRW", "1h")]["rows"] == 595
    assert items[("BTC_KRW", "1h")]["source"] == "upbit"
    assert items[("ETH_KRW", "1h")]["source"].startswith("synthetic")
    assert view["status"] == "completed", view
    data = {s["symbol"]: s["data"] for s in view["result"]["symbols"]}
    assert data["BTC_KRW"]["rows"] == 595
    assert data["BTC_KRW"]["source"].startswith("upbit (fetched ")
    assert data["ETH_KRW"]["source"] == "synthetic (seeded random walk, not market data)"
