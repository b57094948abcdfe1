"""Year files of the layout (docs/data.md): read the stored candles and coverage, merge new rows,
validate with the engine's rules and write the result atomically with its source.

Each file's Parquet key-value metadata holds ``source`` (e.g. ``upbit (fetched
2026-11-30T08:00:00Z)``), ``origin`` (``upbit``), ``fetched_at`` and ``coverage_ms`` (JSON
list of the ``[start, end)`` ranges already requested, see coverage.py). The same
``source`` goes into the S3 object metadata, where results pick it up as ``data.source``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from backtest_core.datastore import DataStore
from backtest_core.inventory import FileEntry, layout_folder
from backtest_engine.candles import candles_from_frame, iso_from_ns
from backtest_engine.errors import DataError
from backtest_engine.formats import (
    frame_from_candles,
    read_parquet,
    read_parquet_metadata,
    to_parquet_layout,
)
from backtest_ingest.coverage import Interval, union
from backtest_ingest.errors import IngestError

COLUMNS = ["timestamp", "open", "high", "low", "close", "volume"]
_NS_PER_MS = 1_000_000


@dataclass
class YearData:
    """What one year file holds: rows (sorted DataFrame, timestamp tz-aware UTC) and
    the ranges already requested from the exchange."""

    key: str
    frame: pd.DataFrame
    coverage: list[Interval]


def year_keys(store: DataStore, symbol: str, timeframe: str) -> Callable[[int], str]:
    """``year → key`` in the folder the engine reads for this symbol and timeframe (an
    existing alias folder such as ``KRW-BTC/1H`` is kept), canonical for new data."""
    folder = layout_folder(store.list_files(), symbol, timeframe)
    return lambda year: f"{folder}/{year}.parquet"


def read_year(store: DataStore, key: str, period_ms: int) -> YearData:
    """The stored file (empty when absent). A file without ``coverage_ms`` (written by hand
    or by an older tool) counts as covering its first to its last bar."""
    raw = store.get(key)
    if raw is None:
        return YearData(key, empty_frame(), [])
    try:
        frame = frame_from_candles(read_parquet(raw, f"{store.label}/{key}"))
    except DataError as exc:
        raise IngestError(f"stored file is invalid, fix or delete it: {exc}") from None
    coverage = _recorded_coverage(read_parquet_metadata(raw))
    if coverage is None and len(frame):
        first, last = (int(frame["timestamp"].iloc[i].value // _NS_PER_MS) for i in (0, -1))
        coverage = [(first, last + period_ms)]
    return YearData(key, frame, union(coverage or []))


def _recorded_coverage(meta: dict[str, str]) -> list[Interval] | None:
    """``coverage_ms`` of the file's metadata; None when absent or unreadable."""
    try:
        return [(int(a), int(b)) for a, b in json.loads(meta["coverage_ms"])]
    except (KeyError, ValueError, TypeError):
        return None


def empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS})
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def rows_frame(rows: list[list[float]]) -> pd.DataFrame:
    """ccxt rows ``[ms, o, h, l, c, v]`` → a DataFrame in arrival order (not deduplicated)."""
    if not rows:
        return empty_frame()
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"].astype("int64"), unit="ms", utc=True)
    return frame.astype({c: "float64" for c in COLUMNS[1:]})


def merge(old: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``old`` + ``new`` sorted by time, one row per timestamp (``new`` wins: the later
    answer of the exchange); returns the frame and how many duplicate rows were dropped."""
    both = pd.concat([old, new], ignore_index=True) if len(old) else new
    merged = both.drop_duplicates("timestamp", keep="last").sort_values("timestamp")
    return merged.reset_index(drop=True), len(both) - len(merged)


def write_year(store: DataStore, symbol: str, timeframe: str, data: YearData, *,
               origin: str, source: str, fetched_at: str | None = None) -> FileEntry | None:
    """Validate ``data`` (docs/data.md rules, engine's messages) and store it atomically.

    Returns the manifest entry, or None when there are no rows (no file is written).
    Raises IngestError with the engine's message (file, row, rule); nothing is written then.
    """
    if not len(data.frame):
        return None
    label = f"{store.label}/{data.key}"
    try:
        candles = candles_from_frame(data.frame, label)
    except DataError as exc:
        raise IngestError(str(exc)) from None
    metadata = {"source": source, "origin": origin,
                "coverage_ms": json.dumps([list(i) for i in union(data.coverage)])}
    if fetched_at:
        metadata["fetched_at"] = fetched_at
    objects = to_parquet_layout(frame_from_candles(candles), symbol, timeframe, metadata)
    year_files = [key.rsplit("/", 1)[1] for key in objects]
    if year_files != [data.key.rsplit("/", 1)[1]]:  # rows of another year: wrong file
        raise IngestError(f"{label}: rows outside the file's year ({', '.join(year_files)})")
    (body,) = objects.values()
    store.put(data.key, body, source)
    entry = FileEntry(rows=len(candles), first=iso_from_ns(int(candles.ts_ns[0])),
                      last=iso_from_ns(int(candles.ts_ns[-1])), source=source, origin=origin,
                      size=len(body))
    return entry


def utc_stamp(moment: datetime | None = None) -> str:
    """``2026-11-30T08:00:00Z``."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
