"""CSV and Parquet (fastparquet only: pyarrow does not fit Lambda) ↔ candles; import tools."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    # fastparquet reads a pandas option deprecated in pandas 3 at import; not our concern.
    warnings.simplefilter("ignore", DeprecationWarning)
    import fastparquet

from .candles import COLUMNS, Candles, candles_from_frame
from .errors import DataError
from .symbols import TIMEFRAME_SECONDS, normalize_symbol, timeframe_dir

_NS_PER_S = 1_000_000_000


def load_csv(path_or_bytes: str | Path | bytes, source: str | None = None) -> pd.DataFrame:
    """Read and validate a CSV with columns timestamp,open,high,low,close,volume.

    Timestamps are ISO 8601 (``2018-01-10T04:55:00Z``; naive = UTC). Returns a DataFrame
    with ``timestamp`` as datetime64[ns, UTC] and float64 prices/volume. Raises DataError
    naming the file (``source``, default the path or ``<bytes>``), row and rule.
    """
    if isinstance(path_or_bytes, bytes | bytearray):
        name, handle = source or "<bytes>", io.BytesIO(path_or_bytes)
    else:
        name, handle = source or str(path_or_bytes), path_or_bytes
    try:
        frame = pd.read_csv(handle)
    except (OSError, ValueError) as exc:
        raise DataError(f"{name}: cannot read CSV ({exc})") from None
    return frame_from_candles(candles_from_frame(frame, name))


def read_parquet(data: bytes, source: str) -> Candles:
    """Validated candles from the bytes of one Parquet file (read with fastparquet)."""
    try:
        frame = fastparquet.ParquetFile(io.BytesIO(data)).to_pandas()
    except Exception as exc:  # fastparquet raises many kinds on corrupt input
        raise DataError(f"{source}: cannot read Parquet ({exc or 'corrupt file'})") from None
    return candles_from_frame(frame, source)


def frame_from_candles(c: Candles) -> pd.DataFrame:
    """DataFrame (timestamp datetime64[ns, UTC], float64 OHLCV) of ``c``."""
    stamps = pd.to_datetime(c.ts_ns, unit="ns", utc=True)
    cols = {"timestamp": stamps}
    cols.update({name: getattr(c, name) for name in COLUMNS[1:]})
    return pd.DataFrame(cols)


def infer_timeframe(df: pd.DataFrame) -> str:
    """Canonical timeframe of ``df`` from its most common timestamp step.

    >>> infer_timeframe(load_csv("ETH_BTC-5m.csv"))  # doctest: +SKIP
    '5m'

    Raises DataError when there are fewer than 2 rows or the step is not a timeframe.
    """
    ts_ns = candles_from_frame(df, "<frame>").ts_ns
    if ts_ns.shape[0] < 2:
        raise DataError("cannot infer the timeframe from fewer than 2 rows")
    steps, counts = np.unique(np.diff(ts_ns), return_counts=True)
    step_s = int(steps[np.argmax(counts)]) / _NS_PER_S
    for name, seconds in TIMEFRAME_SECONDS.items():
        if seconds == step_s:
            return name
    raise DataError(f"cannot infer the timeframe: most common step is {step_s:g} s")


def to_parquet_layout(df: pd.DataFrame, symbol: str, timeframe: str) -> dict[str, bytes]:
    """Split validated candles into one Parquet file per UTC year.

    Returns ``{"BTC_KRW/1D/2024.parquet": bytes, ...}`` (symbol and timeframe normalised;
    columns timestamp (naive UTC, ns) + float64 OHLCV, snappy-compressed), ready for a bucket or a directory.
    """
    folder = f"{normalize_symbol(symbol)}/{timeframe_dir(timeframe)}"
    frame = frame_from_candles(candles_from_frame(df, f"<{folder}>"))
    years = frame["timestamp"].dt.year
    # Stored as naive UTC datetime64[ns]: fastparquet's tz-aware path uses an API pandas
    # deprecates; every reader here takes naive times as UTC.
    frame["timestamp"] = frame["timestamp"].dt.tz_localize(None)
    return {
        f"{folder}/{year}.parquet": _parquet_bytes(part.reset_index(drop=True))
        for year, part in frame.groupby(years, sort=True)
    }


class _CapturingBuffer(io.BytesIO):
    """A BytesIO that keeps its contents when fastparquet closes it."""

    def close(self) -> None:
        self.value = self.getvalue()
        super().close()


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffers: list[_CapturingBuffer] = []

    def _open(_path: str, _mode: str = "wb") -> _CapturingBuffer:
        buffers.append(_CapturingBuffer())
        return buffers[-1]

    fastparquet.write("mem.parquet", frame, compression="SNAPPY", open_with=_open,
                      write_index=False)
    return buffers[0].value
