"""Fixtures: a fake Upbit on a free loopback port, and the data Upbit would hold."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.fake_exchange import FakeUpbit, btc_candles


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
