"""Real market data for the local stack: layout trees (``./data``, ``DATA_DIRS``) into S3.

``backtest data fetch`` writes ``./data/{SYMBOL}/{TF}/{YEAR}.parquet`` by default; the local
S3 bucket lives in memory, so every start copies those files into it again (fetched data
survives restarts). Each object gets the file's recorded ``source`` (e.g. ``upbit (fetched
...)``) as S3 metadata, which results report as ``data.source``, and an inventory manifest
entry. The symbol/timeframe pairs found here are left out of the synthetic demo data, which
stays the fallback for the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from backtest_core.datastore import LocalDataStore, S3DataStore, read_manifest, record_files
from backtest_core.inventory import FileEntry, parse_layout_key

log = logging.getLogger("local.data")


def load_layout_dirs(s3: Any, bucket: str, prefix: str, dirs: Iterable[str | Path]
                     ) -> set[tuple[str, str]]:
    """Copy every layout file of ``dirs`` into ``s3://bucket/prefix``; returns the
    (symbol, timeframe) pairs loaded. Later directories win on the same key."""
    dest = S3DataStore(s3, bucket, prefix)
    pairs: set[tuple[str, str]] = set()
    entries: dict[str, FileEntry] = {}
    for folder in dirs:
        local = LocalDataStore(folder)
        known = read_manifest(local).files
        for key, size in local.list_files().items():
            parsed = parse_layout_key(key)
            body = local.get(key) if parsed else None
            if parsed is None or body is None:
                continue
            entry = known.get(key)
            if entry is None or entry.size != size:
                entry = describe_file(body, f"{folder}/{key}")
            dest.put(key, body, entry.source)
            entries[key] = entry
            pairs.add(parsed[:2])
    record_files(dest, entries)
    if entries:
        log.info("loaded %d market data file(s) (%s) into s3://%s/%s", len(entries),
                 ", ".join(f"{s} {tf}" for s, tf in sorted(pairs)), bucket, prefix)
    return pairs


def describe_file(body: bytes, label: str, source: str | None = None,
                  origin: str | None = None) -> FileEntry:
    """A manifest entry read from the file itself (rows, first/last bar, recorded source)."""
    from backtest_engine.candles import iso_from_ns
    from backtest_engine.formats import read_parquet, read_parquet_metadata

    candles = read_parquet(body, label)
    meta = read_parquet_metadata(body)
    source = source or meta.get("source") or label
    first = iso_from_ns(int(candles.ts_ns[0])) if len(candles) else ""
    last = iso_from_ns(int(candles.ts_ns[-1])) if len(candles) else ""
    return FileEntry(rows=len(candles), first=first, last=last, source=source,
                     origin=origin or meta.get("origin") or source, size=len(body))
