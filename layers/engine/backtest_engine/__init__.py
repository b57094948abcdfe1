"""backtest_engine: a deterministic backtest library (numpy/pandas, no AWS).

Public API (see docs/contracts.md and docs/engine.md)::

    doc = run_backtest(RunSpec(strategy="volume_zone_breakout", symbols=["BTC_KRW"],
                               timeframe="1d"), LocalDirReader("data/"))
"""

from .errors import BacktestCancelled, DataError, EngineError, NoDataError, ParamsError
from .formats import infer_timeframe, load_csv, to_parquet_layout
from .progress import Progress
from .readers import CandleReader, LocalDirReader, MemoryReader
from .runner import RunSpec, no_data_message, run_backtest
from .strategies import catalog
from .symbols import normalize_symbol, normalize_timeframe
from .version import ENGINE_VERSION, RESULT_VERSION

__all__ = [
    "ENGINE_VERSION",
    "RESULT_VERSION",
    "BacktestCancelled",
    "CandleReader",
    "DataError",
    "EngineError",
    "LocalDirReader",
    "MemoryReader",
    "NoDataError",
    "ParamsError",
    "Progress",
    "RunSpec",
    "catalog",
    "infer_timeframe",
    "load_csv",
    "no_data_message",
    "normalize_symbol",
    "normalize_timeframe",
    "run_backtest",
    "to_parquet_layout",
]
