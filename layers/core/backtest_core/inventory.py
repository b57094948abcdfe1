"""What market data is stored (docs/data.md): the layout's year files plus a small manifest.

The layout is ``{SYMBOL}/{TF_UPPER}/{YEAR}.parquet`` (docs/data.md) under a root (an S3 prefix or
a local directory). Reading every Parquet footer on each request would be slow and needs
pandas, so every writer (``backtest data fetch``/``import``, the scheduled ingest, the local
seeding) records each year file's rows, first and last bar and source in one small JSON
object, ``_inventory.json`` at the root. The inventory is the listing (what exists) joined
with the manifest (what it holds): a file the manifest does not know (uploaded by hand) or
knows with another size (rewritten by hand) makes its item's ``rows``/``first``/``last``
null rather than wrong.

    >>> parse_layout_key("KRW-BTC/1H/2024.parquet")
    ('BTC_KRW', '1h', 2024)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, Field

from backtest_contract.market import normalize_symbol, normalize_timeframe, symbol_dirs

MANIFEST_KEY = "_inventory.json"
_LAYOUT_KEY = re.compile(r"^([^/]+)/([^/]+)/(\d{4})\.parquet$")


class FileEntry(BaseModel):
    """One year file as its writer saw it. ``size`` (bytes) ties the entry to the object."""

    rows: int = Field(ge=0)
    first: str = Field(description="open time of the first bar, ISO 8601 UTC")
    last: str = Field(description="open time of the last bar, ISO 8601 UTC")
    source: str = Field(description='e.g. "upbit (fetched 2026-11-30T08:00:00Z)"')
    origin: str = Field(description='where the candles come from, e.g. "upbit"')
    size: int = Field(ge=0)


class Manifest(BaseModel):
    """``_inventory.json``: layout key (relative to the root) → FileEntry."""

    version: int = 1
    files: dict[str, FileEntry] = Field(default_factory=dict)


class InventoryItem(BaseModel):
    """One symbol at one timeframe. ``rows``/``first``/``last`` are null when a file of it
    is not described by the manifest (see the module docstring)."""

    symbol: str = Field(examples=["BTC_KRW"])
    timeframe: str = Field(examples=["1h"])
    first: str | None = Field(default=None, examples=["2024-01-01T00:00:00Z"])
    last: str | None = Field(default=None, examples=["2024-12-31T23:00:00Z"])
    rows: int | None = Field(default=None, examples=[8784])
    source: str | None = Field(default=None, examples=["upbit"])


class InventoryView(BaseModel):
    """``GET /api/data/inventory``: items sorted by symbol, then timeframe length."""

    items: list[InventoryItem]


def parse_layout_key(key: str) -> tuple[str, str, int] | None:
    """(canonical symbol, canonical timeframe, year) of a layout key, or None."""
    match = _LAYOUT_KEY.match(key)
    if not match:
        return None
    try:
        return normalize_symbol(match[1]), normalize_timeframe(match[2]), int(match[3])
    except ValueError:
        return None


def build_inventory(listing: dict[str, int], manifest: Manifest) -> InventoryView:
    """Join ``listing`` (key → size of every object under the root) with ``manifest``.

    When one symbol is stored under several directory spellings (``BTC_KRW/1D`` and
    ``KRW-BTC/1D``), the one the engine reads is reported: the canonical name first.
    """
    folders: dict[tuple[str, str], dict[str, list[str]]] = {}
    for key in sorted(listing):
        parsed = parse_layout_key(key)
        if parsed is None:
            continue
        symbol, timeframe, _year = parsed
        folder = key.rsplit("/", 1)[0]
        folders.setdefault((symbol, timeframe), {}).setdefault(folder, []).append(key)
    items = []
    for (symbol, timeframe), by_folder in folders.items():
        keys = by_folder[min(by_folder, key=lambda f: _folder_rank(f, symbol, timeframe))]
        items.append(_item(symbol, timeframe, keys, listing, manifest))
    items.sort(key=lambda i: (i.symbol, _TIMEFRAME_ORDER.get(i.timeframe, 99)))
    return InventoryView(items=items)


def layout_folder(keys: Iterable[str], symbol: str, timeframe: str) -> str:
    """The folder of ``symbol`` at ``timeframe`` that the engine reads (an existing alias
    such as ``KRW-BTC/1H`` included), else the canonical ``BTC_KRW/1H`` for a new one.
    Writers add to that folder, so older years there stay visible to backtests."""
    folders = {key.rsplit("/", 1)[0] for key in keys
               if (parsed := parse_layout_key(key)) and parsed[:2] == (symbol, timeframe)}
    if not folders:
        return f"{symbol}/{timeframe.upper()}"
    return min(folders, key=lambda f: _folder_rank(f, symbol, timeframe))


_TIMEFRAME_ORDER = {tf: n for n, tf in enumerate(("1m", "3m", "5m", "15m", "30m", "1h", "4h",
                                                   "1d", "1w"))}


def sort_timeframes(timeframes: Iterable[str]) -> list[str]:
    """Canonical timeframes, shortest bar first: ``{"1d", "1h"}`` → ``["1h", "1d"]``."""
    return sorted(timeframes, key=lambda tf: (_TIMEFRAME_ORDER.get(tf, 99), tf))


def _folder_rank(folder: str, symbol: str, timeframe: str) -> tuple[int, int]:
    """The engine's search order (backtest_engine.loading.find_keys): canonical symbol
    directory before aliases, upper-case timeframe directory before lower case."""
    sym_dir, tf_dir = folder.split("/")
    names = symbol_dirs(symbol)
    sym_rank = names.index(sym_dir) if sym_dir in names else len(names)
    return sym_rank, 0 if tf_dir == timeframe.upper() else 1


def _item(symbol: str, timeframe: str, keys: list[str], listing: dict[str, int],
          manifest: Manifest) -> InventoryItem:
    entries = [manifest.files.get(k) for k in keys]
    known = [e for k, e in zip(keys, entries, strict=True) if e and e.size == listing[k]]
    origins = list(dict.fromkeys(e.origin for e in known))
    if len(known) < len(keys):  # some file is not described: say so instead of guessing
        return InventoryItem(symbol=symbol, timeframe=timeframe,
                             source=", ".join(origins) or None)
    return InventoryItem(
        symbol=symbol, timeframe=timeframe, first=min(e.first for e in known),
        last=max(e.last for e in known), rows=sum(e.rows for e in known),
        source=", ".join(origins),
    )
