"""Find and load one symbol's candles from a reader: layout, alias directories, date window."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

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
    for key in keys:
        data = reader.get(key)
        if data is None:
            continue
        part = read_parquet(data, key)
        if parts and len(parts[-1]) and len(part) and part.ts_ns[0] <= parts[-1].ts_ns[-1]:
            raise DataError(f"{key}: row 1 ({part.iso(0)}): timestamp not after previous file")
        parts.append(part)
        on_file()
    candles = Candles.concat(parts).window(*window_ns(start, end)) if parts else None
    if candles is None or len(candles) == 0:
        return (f"No data for {symbol} at {normalize_timeframe(timeframe)} in "
                f"{start or 'earliest'}..{end or 'latest'}")
    return SymbolData(symbol, candles, _describe(reader, keys))


def _describe(reader: CandleReader, keys: list[str]) -> str:
    describe = getattr(reader, "describe", None)
    labels = [describe(k) if callable(describe) else k for k in keys]
    return ", ".join(dict.fromkeys(labels))
