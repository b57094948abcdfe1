"""Candles for a price chart (docs/console.md, ``GET /api/candles``): a date window of one symbol,
merged into at most ``max_points`` buckets.

More bars than ``max_points`` merge b = ⌈n / max_points⌉ bars at a time, counted from the
first bar: bucket k holds bars k·b … (k+1)·b − 1 (the last one may be shorter); its time is
its first bar's, then first open, max high, min low, last close, summed volume.

    >>> import numpy as np
    >>> c = Candles(np.arange(5, dtype="int64"), *(np.arange(1.0, 6.0),) * 4, np.ones(5))
    >>> b, merged = merge_buckets(c, 2)
    >>> b, merged.ts_ns.tolist(), merged.close.tolist(), merged.volume.tolist()
    (3, [0, 3], [3.0, 5.0], [3.0, 2.0])
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from .candles import Candles, iso_from_ns
from .loading import SymbolData, find_keys, load_symbol
from .readers import CandleReader


def bucket_size(n: int, max_points: int) -> int:
    """Bars per bucket: 1 when ``n ≤ max_points``, else ⌈n / max_points⌉.

    >>> bucket_size(1500, 1500), bucket_size(1501, 1500), bucket_size(0, 100)
    (1, 2, 1)
    """
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    return max(1, -(-n // max_points))


def merge_buckets(candles: Candles, max_points: int) -> tuple[int, Candles]:
    """(bars per bucket b, the merged candles): at most ``max_points`` bars, see the module
    docstring. With b = 1 the candles come back unchanged."""
    b = bucket_size(len(candles), max_points)
    if b == 1:
        return 1, candles
    starts = np.arange(0, len(candles), b)
    ends = np.minimum(starts + b, len(candles)) - 1
    return b, Candles(
        ts_ns=candles.ts_ns[starts],
        open=candles.open[starts],
        high=np.maximum.reduceat(candles.high, starts),
        low=np.minimum.reduceat(candles.low, starts),
        close=candles.close[ends],
        volume=np.add.reduceat(candles.volume, starts),
    )


def chart_candles(reader: CandleReader, symbol: str, timeframe: str, start: date, end: date,
                  max_points: int) -> dict[str, Any] | None:
    """``{symbol, timeframe, bucket_bars, t, open, high, low, close, volume}`` of the bars in
    the UTC window ``[start 00:00, end + 1 day)``, merged to at most ``max_points``; empty
    lists when the window holds no bar. None when nothing is stored for ``symbol`` at
    ``timeframe`` (the caller answers 404). Raises DataError for an invalid file."""
    if not find_keys(reader, symbol, timeframe):
        return None
    loaded = load_symbol(reader, symbol, timeframe, start, end)
    candles = loaded.candles if isinstance(loaded, SymbolData) else None
    b, merged = merge_buckets(candles, max_points) if candles is not None else (1, None)
    columns = ("open", "high", "low", "close", "volume")
    return {
        "symbol": symbol, "timeframe": timeframe, "bucket_bars": b,
        "t": [] if merged is None else [iso_from_ns(int(ts)) for ts in merged.ts_ns],
        **{name: [] if merged is None else getattr(merged, name).tolist() for name in columns},
    }
