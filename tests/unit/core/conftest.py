"""Tests that call the API handlers on moto (fixture ``api``) see the market data a fresh
local stack stores, so the submit's stored-data check (backtest_core.stored_timeframes)
accepts their requests; tests below the API keep an empty bucket, and so does a test module
that stores its own candles and says so with ``OWN_CANDLES = True``."""

from __future__ import annotations

import pytest

from tests.conftest import store_candles


@pytest.fixture(autouse=True)
def stored_candles(request: pytest.FixtureRequest) -> None:
    if "api" in request.fixturenames and not getattr(request.module, "OWN_CANDLES", False):
        store_candles(request.getfixturevalue("aws"))
