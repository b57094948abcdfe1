"""Find and load one symbol's candles from a reader: layout, alias directories, date window.

A reader with ``version(key)`` (S3) has its parsed year files kept by a warm process
(``warm.CANDLE_FILES``), and the loaded candles get an ``identity`` under which their
indicators are shared (``warm.INDICATORS``; docs/engine.md, "Warm caches")."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from . import warm
from .candles import Candles
from .errors import DataError
from .formats import read_parquet
from .readers import CandleReader
from .symbols import normalize_timeframe, symbol_dirs, timeframe_dir

_YEAR_FILE = re.compile(r"/(\d{4})\.parquet$")


@dataclass(frozen=True)
class SymbolData:
    """Candles of one symbol inside the requested window, and where they came from."""

    symbol: str
    candles: Candles
    source: str
    # What the candles are, for caches shared across invocations: symbol, timeframe, the
    # version of every file read and the window; None when a file has no version.
    identity: tuple | None = None


def window_ns(start: date | None, end: date | None) -> tuple[int | None, int | None]:
    """UTC window ``[start 00:00, end + 1 day 00:00)`` in epoch ns (None = unbounded)."""

    def _ns(day: date) -> int:
        return int(datetime.combine(day, time(), tzinfo=UTC).timestamp()) * 1_000_000_000

    return (
        None if start is None else _ns(start),
        None if end is None else _ns(end + timedelta(days=1)),
    )


def find_keys(reader: CandleReader, symbol: str, timeframe: str) -> list[str]:
    """Year files ``{dir}/{TF}/{YEAR}.parquet`` of the first directory (canonical name,
    then alias names such as ``KRW-BTC``) that has any, sorted by year."""
    tf_names = dict.fromkeys([timeframe_dir(timeframe), normalize_timeframe(timeframe)])
    for folder in symbol_dirs(symbol):
        for tf_name in tf_names:
            keys = [k for k in reader.list(f"{folder}/{tf_name}/") if _YEAR_FILE.search(k)]
            if keys:
                return sorted(keys, key=lambda k: int(_YEAR_FILE.search(k).group(1)))
    return []


def load_symbol(
    reader: CandleReader,
    symbol: str,
    timeframe: str,
    start: date | None,
    end: date | None,
    on_file: Callable[[], None] = lambda: None,
) -> SymbolData | str:
    """Candles of ``symbol`` in the window, or the reason (a string) why there are none.

    Only the year files overlapping the window are read; ``on_file`` is called after each.
    Raises DataError for invalid files (naming the key, row and rule).
    """
    keys = find_keys(reader, symbol, timeframe)
    if not keys:
        return f"No data files for {symbol} at {normalize_timeframe(timeframe)}"
    first_year = start.year if start else 0
    last_year = end.year if end else 9999
    keys = [k for k in keys if first_year <= int(_YEAR_FILE.search(k).group(1)) <= last_year]
    parts: list[Candles] = []
    labels: list[str] = []
    versions: list[str] | None = []
    for key in keys:
        found = _read_file(reader, key)
        if found is None:
            continue
        part, label, version = found
        if parts and len(parts[-1]) and len(part) and part.ts_ns[0] <= parts[-1].ts_ns[-1]:
            raise DataError(f"{key}: row 1 ({part.iso(0)}): timestamp not after previous file")
        parts.append(part)
        labels.append(label)
        versions = None if versions is None or version is None else [*versions, version]
        on_file()
    bounds = window_ns(start, end)
    candles = Candles.concat(parts).window(*bounds) if parts else None
    if candles is None or len(candles) == 0:
        return (f"No data for {symbol} at {normalize_timeframe(timeframe)} in "
                f"{start or 'earliest'}..{end or 'latest'}")
    identity = None if versions is None else (symbol, normalize_timeframe(timeframe),
                                              tuple(versions), bounds)
    return SymbolData(symbol, candles, ", ".join(dict.fromkeys(labels)), identity)


def _read_file(reader: CandleReader, key: str) -> tuple[Candles, str, str | None] | None:
    """``(candles, source label, version)`` of one year file, None when it is gone. With a
    version, a warm process parses each version of a file once (``warm.CANDLE_FILES``)."""
    version_of = getattr(reader, "version", None)
    listed = version_of(key) if callable(version_of) else None
    if listed is not None:
        cached = warm.CANDLE_FILES.get(listed)
        if cached is not None:
            return (*cached, listed)
    data = reader.get(key)
    if data is None:
        return None
    part = read_parquet(data, key)
    label = _describe(reader, key)
    version = version_of(key) if callable(version_of) else None  # as read (S3: the GET's)
    if version is not None:
        for column in part._arrays():
            column.flags.writeable = False
        warm.CANDLE_FILES.put(version, (part, label), sum(c.nbytes for c in part._arrays()))
    return part, label, version


def _describe(reader: CandleReader, key: str) -> str:
    describe = getattr(reader, "describe", None)
    return describe(key) if callable(describe) else key
