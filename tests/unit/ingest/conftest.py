"""Fixtures: a fake Upbit on a free loopback port, and the data Upbit would hold."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.fake_exchange import Candle, FakeUpbit, hourly_candles

# Five hourly bars the exchange does not have (04:00 is the last bar before the gap).
GAP = {datetime(2024, 1, 10, hour, tzinfo=UTC) for hour in range(5, 10)}
LISTED_FROM = datetime(2023, 12, 20, tzinfo=UTC)
LISTED_UNTIL = datetime(2024, 2, 1, tzinfo=UTC)


def btc_candles() -> list[Candle]:
    return hourly_candles(LISTED_FROM, LISTED_UNTIL, GAP)


@pytest.fixture
def upbit() -> Iterator[FakeUpbit]:
    fake = FakeUpbit({"KRW-BTC": btc_candles(), "KRW-ETH": btc_candles()[::2]})
    fake.url = fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL on which nothing listens (the port was just freed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
