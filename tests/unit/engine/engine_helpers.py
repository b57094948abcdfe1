"""Shared builders for the engine tests (imported by the test modules next to it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from backtest_engine import MemoryReader, RunSpec, run_backtest, to_parquet_layout
from backtest_engine.candles import Candles

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "data" / "engine"
SHARED_DATA = (REPO / "../shared/data").resolve()

EXAMPLE_A = [
    (100, 102, 100, 101, 100), (101, 103, 101, 102, 200), (102, 104, 102, 103, 100),
    (103, 105, 102.5, 104, 100), (104, 104.5, 103, 103.5, 100), (103.5, 108, 103.5, 107, 300),
    (107, 107.5, 106, 106.5, 100),
]
EXAMPLE_B = [
    (100, 101, 99.5, 100.5, 100), (100.5, 101, 100, 100.8, 100), (100.8, 104, 100.5, 103.5, 400),
    (103.5, 104, 102, 103, 100), (103, 106.2, 102.9, 106, 600), (106, 106.5, 104, 104.5, 100),
]
EXAMPLE_C = [(100, 100, 100, 100, 50)] * 3 + [
    (100, 110, 99, 109, 500), (109, 115, 108, 114, 500), (114, 120, 113, 119, 500),
]
EXAMPLE_D = [
    (100 + 0.1 * i, 101 + 0.1 * i, 99 + 0.1 * i, 100.5 + 0.1 * i, 1e6 + 1000 * i)
    for i in range(100)
]


def frame(rows, start: str = "2024-01-01", freq: str = "D") -> pd.DataFrame:
    """DataFrame of (open, high, low, close, volume) rows with UTC times from ``start``."""
    df = pd.DataFrame(rows, columns=["open", "high", "low", "close", "volume"], dtype=float)
    df.insert(0, "timestamp", pd.date_range(start, periods=len(rows), freq=freq, tz="UTC"))
    return df


def candles(rows, start: str = "2024-01-01", freq: str = "D") -> Candles:
    """Candles of ``rows`` (see ``frame``)."""
    df = frame(rows, start, freq)
    ts = df["timestamp"].dt.tz_localize(None).dt.as_unit("ns").to_numpy().view("int64")
    return Candles(ts.copy(), *(df[c].to_numpy() for c in ["open", "high", "low", "close",
                                                            "volume"]))


def reader_for(frames: dict[str, pd.DataFrame], timeframe: str = "1d") -> MemoryReader:
    """In-memory reader holding each frame in the Parquet layout under its symbol."""
    objects: dict[str, bytes] = {}
    for symbol, df in frames.items():
        objects.update(to_parquet_layout(df, symbol, timeframe))
    return MemoryReader(objects)


def run_rows(strategy: str, params: dict, rows, **spec) -> dict:
    """Result document of one symbol BTC_KRW with daily ``rows`` from 2024-01-01."""
    reader = reader_for({"BTC_KRW": frame(rows)})
    run_spec = RunSpec(strategy=strategy, params=params, symbols=["BTC_KRW"], **spec)
    return run_backtest(run_spec, reader, run_id="test-run", environment="test",
                        execution_host="test-host")


def returns_pct(symbol_result: dict) -> np.ndarray:
    """Signal returns of a SymbolResult in percent."""
    return np.array([s["return_pct"] * 100 for s in symbol_result["signals"]])


def signal_rows(symbol_result: dict, start: str = "2024-01-01") -> list[int]:
    """Bar indices (days since ``start``) of a daily SymbolResult's signals."""
    origin = pd.Timestamp(start, tz="UTC")
    return [(pd.Timestamp(s["timestamp"]) - origin).days for s in symbol_result["signals"]]
