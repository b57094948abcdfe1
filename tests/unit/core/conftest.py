"""Tests that run the handlers on moto see the market data a fresh local stack stores, so
the submit's stored-data check (backtest_core.stored_timeframes) accepts their requests."""

from __future__ import annotations

import pytest

from tests.conftest import store_candles


@pytest.fixture(autouse=True)
def stored_candles(request: pytest.FixtureRequest) -> None:
    if "aws" in request.fixturenames:
        store_candles(request.getfixturevalue("aws"))
