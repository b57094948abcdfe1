"""Validated OHLCV candles as numpy arrays, built from a DataFrame at the data edge."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from .errors import DataError

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
_NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class Candles:
    """One symbol's bars, sorted by strictly increasing open time.

    ``ts_ns`` is int64 nanoseconds since the epoch (UTC bar open time); the prices and
    ``volume`` are float64 arrays of the same length.
    """

    ts_ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])

    def window(self, start_ns: int | None, end_ns: int | None) -> Candles:
        """Bars with ``start_ns ≤ ts < end_ns`` (None = unbounded)."""
        lo = 0 if start_ns is None else int(np.searchsorted(self.ts_ns, start_ns, "left"))
        hi = len(self) if end_ns is None else int(np.searchsorted(self.ts_ns, end_ns, "left"))
        return Candles(*(arr[lo:hi] for arr in self._arrays()))

    def sha256(self) -> str:
        """Hex SHA-256 of the bars: int64 ns timestamps, then float64 open, high, low, close,
        volume, each column's little-endian bytes in that order."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.ts_ns, dtype="<i8").tobytes())
        for arr in self._arrays()[1:]:
            digest.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        return digest.hexdigest()

    def iso(self, index: int) -> str:
        """ISO 8601 UTC time of bar ``index``, e.g. ``2024-01-01T00:00:00Z``."""
        return iso_from_ns(int(self.ts_ns[index]))

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return (self.ts_ns, self.open, self.high, self.low, self.close, self.volume)

    @staticmethod
    def concat(parts: list[Candles]) -> Candles:
        """Bars of ``parts`` in order (the caller validates the seams)."""
        columns = zip(*(p._arrays() for p in parts), strict=True)
        return Candles(*(np.concatenate(cols) for cols in columns))


def iso_from_ns(ts_ns: int) -> str:
    """``2024-01-01T00:00:00Z`` for epoch nanoseconds (sub-second part dropped)."""
    moment = datetime.fromtimestamp(ts_ns // _NS_PER_S, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def candles_from_frame(df: pd.DataFrame, source: str) -> Candles:
    """Validate ``df`` (columns timestamp, open, high, low, close, volume) into Candles.

    ``timestamp`` may be a column or the index; naive times are taken as UTC.
    Raises DataError ``"{source}: row {n} (...): {rule}"`` with n the 1-based data row.
    """
    if "timestamp" not in df.columns and df.index.name == "timestamp":
        df = df.reset_index()
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}; need {COLUMNS}")
    ts_ns = _timestamps_ns(df["timestamp"], source)
    values = {}
    for name in COLUMNS[1:]:
        try:
            values[name] = df[name].to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{source}: column {name} is not numeric ({exc})") from None
    candles = Candles(ts_ns, **values)
    validate(candles, source)
    return candles


def validate(c: Candles, source: str, row_offset: int = 0) -> None:
    """Raise DataError for the first row breaking a rule (see docs/engine.md)."""
    for name in COLUMNS[1:]:
        _fail_where(~np.isfinite(getattr(c, name)), c, source, row_offset, f"{name} is NaN/inf")
    for name in PRICE_COLUMNS:
        _fail_where(getattr(c, name) <= 0, c, source, row_offset, f"{name} <= 0")
    _fail_where(c.volume < 0, c, source, row_offset, "negative volume")
    _fail_where(c.high < c.low, c, source, row_offset, "high < low")
    step = np.diff(c.ts_ns)
    _fail_where(np.r_[False, step == 0], c, source, row_offset, "duplicate timestamp")
    _fail_where(np.r_[False, step < 0], c, source, row_offset, "timestamp not sorted ascending")


def _fail_where(bad: np.ndarray, c: Candles, source: str, offset: int, rule: str) -> None:
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{source}: row {i + 1 + offset} ({c.iso(i)}): {rule}")


def _timestamps_ns(col: pd.Series, source: str) -> np.ndarray:
    try:
        text = pd.api.types.is_string_dtype(col) or col.dtype == object
        stamps = pd.to_datetime(col, utc=True, format="ISO8601" if text else None)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{source}: column timestamp is not a date/time ({exc})") from None
    nat = stamps.isna().to_numpy()
    if nat.any():
        raise DataError(f"{source}: row {int(np.argmax(nat)) + 1}: timestamp is missing (NaT)")
    return stamps.dt.tz_localize(None).dt.as_unit("ns").to_numpy().view("int64").copy()
