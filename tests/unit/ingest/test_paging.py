"""Interval arithmetic of the coverage, URL rebasing, and forward paging (Binance's pattern)
driven through a recorded stand-in of the exchange client (no ccxt, no network)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backtest_core.datastore import LocalDataStore
from backtest_ingest.coverage import subtract, union
from backtest_ingest.errors import IngestError
from backtest_ingest.exchanges import ExchangeSpec, rebase_urls
from backtest_ingest.fetch import FetchPlan, fetch

HOUR = 3_600_000
intervals = st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), max_size=6)


@given(want=st.tuples(st.integers(0, 100), st.integers(0, 100)), have=intervals)
def test_given_any_intervals_then_missing_and_covered_parts_tile_the_wanted_range(want, have):
    missing = subtract(want, have)
    points = set(range(*want))
    covered = {p for a, b in union(have) for p in range(a, b)}

    assert {p for a, b in missing for p in range(a, b)} == points - covered
    assert missing == union(missing)  # sorted, disjoint, non-empty


def test_given_exchange_urls_when_rebased_then_scheme_and_host_change_and_paths_stay() -> None:
    urls = {"public": "https://api.binance.com/api/v3", "sapi": "https://api.binance.com/sapi/v1",
            "upbit": "https://{hostname}"}

    rebased = rebase_urls(urls, "http://127.0.0.1:9/")

    assert rebased == {"public": "http://127.0.0.1:9/api/v3", "sapi": "http://127.0.0.1:9/sapi/v1",
                       "upbit": "http://127.0.0.1:9"}
    with pytest.raises(IngestError, match="give an http:// or https:// URL"):
        rebase_urls(urls, "127.0.0.1:9")


@dataclass
class ForwardExchange:
    """Answers like Binance: up to ``limit`` candles opening at or after ``since``."""

    stamps: list[int]
    limit: int = 3
    name: str = "binance"
    requests: int = 0
    calls: list[int] = field(default_factory=list)

    @property
    def spec(self) -> ExchangeSpec:
        return ExchangeSpec(page_limit=self.limit, direction="forward")

    def load_markets(self) -> None: ...
    def check_timeframe(self, timeframe: str) -> None: ...
    def market(self, symbol: str) -> str: return symbol.replace("_", "/")
    def market_id(self, market: str) -> str: return market.replace("/", "")

    def page_from(self, market: str, timeframe: str, since_ms: int) -> list[list[float]]:
        self.requests += 1
        self.calls.append(since_ms)
        page = [t for t in self.stamps if t >= since_ms][: self.limit]
        return [[t, 10.0, 11.0, 9.0, 10.5, 1.0] for t in page]


def test_given_forward_paging_when_fetched_then_each_page_starts_after_the_last_candle(
    tmp_path: Path,
) -> None:
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
    stamps = [start + h * HOUR for h in range(10) if h not in (4, 5)] + [start + 30 * HOUR]
    exchange = ForwardExchange(stamps)
    plan = FetchPlan.build(["BTC_USDT"], "1h", date(2024, 1, 1), date(2024, 1, 1),
                           datetime(2024, 3, 1, tzinfo=UTC))

    (report,) = fetch(plan, exchange, LocalDataStore(tmp_path))  # type: ignore[arg-type]

    # Pages: [0,1,2] → since 3 → [3,6,7] → since 8 → [8,9,30] → 30 is past the window: stop.
    assert exchange.calls == [start, start + 3 * HOUR, start + 8 * HOUR]
    assert report.rows == 8 and report.last == "2024-01-01T09:00:00Z"
    assert [(g.after, g.missing_bars) for g in report.gaps] == [("2024-01-01T03:00:00Z", 2)]
    assert report.files == ["BTC_USDT/1H/2024.parquet"]
