"""``backtest data import FILE.csv``: a CSV (docs/data.md columns) into the year files.

The CSV is validated with the engine's rules (file, row, rule in the message), checked
against the given timeframe, then merged into each year file (the CSV's rows win where both
have a bar) and recorded in the manifest, exactly like fetched candles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backtest_core.datastore import DataStore, record_files
from backtest_engine.errors import DataError
from backtest_engine.formats import infer_timeframe, load_csv
from backtest_engine.symbols import normalize_symbol, normalize_timeframe, timeframe_seconds
from backtest_ingest.coverage import union
from backtest_ingest.errors import IngestError
from backtest_ingest.yearfiles import (
    YearData,
    merge,
    read_year,
    utc_stamp,
    write_year,
    year_keys,
)


@dataclass
class ImportReport:
    symbol: str
    timeframe: str
    rows: int
    files: list[str]


def import_csv(path: str | Path, symbol: str, timeframe: str, store: DataStore) -> ImportReport:
    """Import one CSV file of one symbol; raises IngestError (one line) on bad input."""
    path = Path(path)
    try:
        name, tf = normalize_symbol(symbol), normalize_timeframe(timeframe)
        frame = load_csv(path)
        if len(frame) >= 2 and (found := infer_timeframe(frame)) != tf:
            raise IngestError(f"{path}: bars are {found} apart, not {tf} (--timeframe)")
    except (DataError, ValueError, OSError) as exc:
        raise IngestError(" ".join(str(exc).split())) from None
    if not len(frame):
        raise IngestError(f"{path}: no rows")
    period_ms = timeframe_seconds(tf) * 1000
    source = f"{path.name} (imported {utc_stamp()})"
    files = []
    key_of = year_keys(store, name, tf)
    for year, part in frame.groupby(frame["timestamp"].dt.year, sort=True):
        data = read_year(store, key_of(int(year)), period_ms)
        merged, _dropped = merge(data.frame, part)
        first_ms = int(part["timestamp"].iloc[0].value // 1_000_000)
        last_ms = int(part["timestamp"].iloc[-1].value // 1_000_000)
        coverage = union(data.coverage + [(first_ms, last_ms + period_ms)])
        entry = write_year(store, name, tf, YearData(data.key, merged, coverage),
                           origin=path.name, source=source)
        if entry is not None:
            record_files(store, {data.key: entry})
            files.append(data.key)
    return ImportReport(symbol=name, timeframe=tf, rows=len(frame), files=files)
