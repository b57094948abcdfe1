"""``backtest data fetch`` and the scheduled refresh: exchange candles into year files.

For each symbol and each UTC year of the window: read the stored year file, ask the
exchange only for the ranges not yet covered, merge (deduplicated), validate, write the
file atomically, record it in the manifest. Files are written one whole year at a time,
oldest first, so an interrupted run leaves only complete files and a re-run continues
where it stopped. Gaps (bars the exchange does not have) are reported, never filled.
Only closed bars are stored: the window ends where the bar in progress begins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

import pandas as pd

from backtest_core.datastore import DataStore, record_files
from backtest_engine.symbols import normalize_symbol, normalize_timeframe, timeframe_seconds
from backtest_ingest.coverage import Interval, subtract, union
from backtest_ingest.exchanges import ExchangeClient, Row
from backtest_ingest.yearfiles import (
    YearData,
    merge,
    read_year,
    rows_frame,
    utc_stamp,
    write_year,
    year_keys,
)

_MS = 1000


@dataclass(frozen=True)
class FetchPlan:
    """Canonical symbols and timeframe; the window ``[start_ms, end_ms)`` of bar open times."""

    symbols: list[str]
    timeframe: str
    start_ms: int
    end_ms: int

    @classmethod
    def build(cls, symbols: list[str], timeframe: str, since: date, until: date | None,
              now: datetime) -> FetchPlan:
        """``since`` 00:00 UTC up to the end of ``until`` (whole day, docs/contracts.md), but never
        past the last closed bar at ``now``."""
        if until is not None and until < since:
            raise ValueError("--since must be before or equal to --until")
        tf = normalize_timeframe(timeframe)
        period_ms = timeframe_seconds(tf) * _MS
        start = _ms(datetime.combine(since, time(), tzinfo=UTC))
        closed_end = _ms(now) - period_ms + 1  # bars opening before this have closed
        end = closed_end
        if until is not None:
            end = min(end, _ms(datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)))
        names = list(dict.fromkeys(normalize_symbol(s) for s in symbols))
        return cls(symbols=names, timeframe=tf, start_ms=start, end_ms=max(start, end))

    @property
    def period_ms(self) -> int:
        return timeframe_seconds(self.timeframe) * _MS


@dataclass(frozen=True)
class Gap:
    """Bars missing between two stored bars (open times, ISO 8601 UTC)."""

    after: str
    before: str
    missing_bars: int


@dataclass
class SymbolReport:
    symbol: str
    market_id: str
    requests: int = 0
    fetched_rows: int = 0
    duplicates: int = 0
    files: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    rows: int = 0  # stored rows inside the window after the fetch
    first: str | None = None
    last: str | None = None


class Progress(Protocol):
    """Per-symbol progress in bars of the ranges being fetched."""

    def start(self, symbol: str, total_bars: float) -> None: ...
    def advance(self, symbol: str, bars: float) -> None: ...
    def finish(self, symbol: str) -> None: ...


class NoProgress:
    def start(self, symbol: str, total_bars: float) -> None: ...
    def advance(self, symbol: str, bars: float) -> None: ...
    def finish(self, symbol: str) -> None: ...


def fetch(plan: FetchPlan, client: ExchangeClient, store: DataStore,
          progress: Progress | None = None,
          clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[SymbolReport]:
    """Fetch every symbol of ``plan`` into ``store``; one report per symbol.

    The markets are checked before anything is written: an unreachable exchange, an
    unknown market or timeframe raises IngestError with no file touched.
    """
    client.load_markets()
    client.check_timeframe(plan.timeframe)
    markets = {symbol: client.market(symbol) for symbol in plan.symbols}
    progress = progress or NoProgress()
    return [_fetch_symbol(plan, client, store, symbol, market, progress, clock)
            for symbol, market in markets.items()]


def _fetch_symbol(plan: FetchPlan, client: ExchangeClient, store: DataStore, symbol: str,
                  market: str, progress: Progress, clock: Callable[[], datetime]) -> SymbolReport:
    report = SymbolReport(symbol=symbol, market_id=client.market_id(market))
    requests_before = client.requests
    period = plan.period_ms
    years = []
    key_of = year_keys(store, symbol, plan.timeframe)
    for year in range(_year(plan.start_ms), _year(plan.end_ms - 1) + 1):
        segment = (max(plan.start_ms, _year_start(year)), min(plan.end_ms, _year_start(year + 1)))
        data = read_year(store, key_of(year), period)
        years.append((year, segment, data, subtract(segment, data.coverage)))
    progress.start(symbol, sum(b - a for *_, missing in years for a, b in missing) / period)
    stamps: list[pd.Series] = []
    fetched_at = utc_stamp(clock())
    for _year_no, segment, data, missing in years:
        if missing:
            data = _refresh(client, market, plan, data, missing, report, progress, symbol)
            entry = write_year(store, symbol, plan.timeframe, data, origin=client.name,
                               source=f"{client.name} (fetched {fetched_at})",
                               fetched_at=fetched_at)
            if entry is not None:
                record_files(store, {data.key: entry})
                report.files.append(data.key)
        ts = data.frame["timestamp"]
        lo, hi = (pd.Timestamp(v, unit="ms", tz="UTC") for v in segment)
        stamps.append(ts[(ts >= lo) & (ts < hi)])
    progress.finish(symbol)
    report.requests = client.requests - requests_before
    _summarise(report, pd.concat(stamps, ignore_index=True) if stamps else pd.Series([]), period)
    return report


def _refresh(client: ExchangeClient, market: str, plan: FetchPlan, data: YearData,
             missing: list[Interval], report: SymbolReport, progress: Progress,
             symbol: str) -> YearData:
    rows: list[Row] = []
    for start, end in missing:
        advance = lambda ms: progress.advance(symbol, ms / plan.period_ms)  # noqa: E731
        if client.spec.direction == "backward":
            rows += _backward(client, market, plan.timeframe, start, end, advance)
        else:
            rows += _forward(client, market, plan.timeframe, start, end, plan.period_ms, advance)
    new = rows_frame(rows)
    report.fetched_rows += len(new)
    merged, dropped = merge(data.frame, new)
    report.duplicates += dropped
    return YearData(data.key, merged, union(data.coverage + missing))


def _backward(client: ExchangeClient, market: str, timeframe: str, start: int, end: int,
              advance: Callable[[int], None]) -> list[Row]:
    """Pages of candles before a moving ``to``, newest first, until ``start`` is passed or
    the exchange has nothing older."""
    rows: list[Row] = []
    cursor = end
    while cursor > start:
        page = client.page_before(market, timeframe, cursor)
        rows += [r for r in page if start <= r[0] < end]
        oldest = min((int(r[0]) for r in page), default=cursor)
        if oldest >= cursor:  # nothing older: the market's first candle is behind us
            advance(cursor - start)
            break
        advance(cursor - max(oldest, start))
        cursor = oldest
    return rows


def _forward(client: ExchangeClient, market: str, timeframe: str, start: int, end: int,
             period: int, advance: Callable[[int], None]) -> list[Row]:
    """Pages of candles from a moving ``since``, oldest first, until ``end``."""
    rows: list[Row] = []
    cursor = start
    while cursor < end:
        page = client.page_from(market, timeframe, cursor)
        rows += [r for r in page if start <= r[0] < end]
        newest = max((int(r[0]) for r in page), default=cursor - 1)
        if newest < cursor:  # nothing newer
            advance(end - cursor)
            break
        advance(min(newest + period, end) - cursor)
        cursor = newest + period
    return rows


def _summarise(report: SymbolReport, stamps: pd.Series, period_ms: int) -> None:
    """Rows, first/last and the gaps of the stored bars inside the window."""
    stamps = stamps.sort_values(ignore_index=True)
    report.rows = len(stamps)
    if not len(stamps):
        return
    iso = "%Y-%m-%dT%H:%M:%SZ"
    report.first, report.last = stamps.iloc[0].strftime(iso), stamps.iloc[-1].strftime(iso)
    steps_ms = stamps.diff().dt.total_seconds().mul(_MS).iloc[1:]
    for i in steps_ms.index[steps_ms > period_ms]:
        report.gaps.append(Gap(after=stamps.iloc[i - 1].strftime(iso),
                               before=stamps.iloc[i].strftime(iso),
                               missing_bars=int(steps_ms[i] // period_ms) - 1))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * _MS)


def _year(ms: int) -> int:
    return datetime.fromtimestamp(ms / _MS, tz=UTC).year


def _year_start(year: int) -> int:
    return _ms(datetime(year, 1, 1, tzinfo=UTC))
