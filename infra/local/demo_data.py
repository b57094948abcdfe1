"""Demo candles for the local stack: deterministic synthetic data, plus optional real CSVs.

``synthetic_candles(symbol, timeframe)`` is a seeded random walk (hourly bars, daily bars
aggregated from them) around a KRW price path, with "event days" of 3-6x volume and an
upward push, so both strategies find signals on daily 2024 data with default params.
It is NOT market data, and the S3 object metadata ``source`` says so.

``seed(s3, bucket, prefix, data_dirs)`` writes BTC_KRW and ETH_KRW (1d, 1h; 2024-2025 UTC)
as ``{SYMBOL}/{TF}/{YEAR}.parquet`` via ``backtest_engine.to_parquet_layout``, then every
``SYMBOL-TF.csv`` of ``data_dirs`` (e.g. ETH_BTC-5m.csv → ETH_BTC 5m, source = file name).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger("local.demo_data")
SYNTHETIC_SOURCE = "synthetic (seeded random walk, not market data)"
START, END = "2024-01-01", "2026-01-01"  # [START, END): all of 2024 and 2025, UTC
# symbol: (seed, price path start, price path end, floor, ceiling), in KRW
DEMO_SYMBOLS: dict[str, tuple[int, float, float, float, float]] = {
    "BTC_KRW": (20240101, 80e6, 115e6, 60e6, 140e6),
    "ETH_KRW": (20240102, 4.0e6, 4.6e6, 3e6, 6e6),
}
DEMO_TIMEFRAMES = ("1d", "1h")
_HOURLY_SIGMA = 0.006  # ~3 % daily volatility
_EVENT_DAY_SHARE = 0.12  # share of days with a volume spike and an upward push
_REVERSION_HOURS = 24 * 20  # how fast the walk is pulled back to the price path


def synthetic_candles(symbol: str, timeframe: str) -> pd.DataFrame:
    """Deterministic OHLCV of a demo symbol (``1h`` or ``1d``), timestamps UTC bar opens."""
    hourly = _hourly(symbol)
    if timeframe == "1h":
        return hourly
    if timeframe != "1d":
        raise ValueError(f"demo data has timeframes {DEMO_TIMEFRAMES}, not {timeframe!r}")
    daily = hourly.resample("1D", on="timestamp").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    return daily.reset_index()


def _hourly(symbol: str) -> pd.DataFrame:
    seed, first, last, floor, ceiling = DEMO_SYMBOLS[symbol]
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(START, END, freq="h", inclusive="left", tz="UTC")
    n, days = len(stamps), len(stamps) // 24
    event_day = rng.random(days) < _EVENT_DAY_SHARE
    push = np.where(event_day, rng.uniform(0.03, 0.06, days), rng.normal(0.0, 0.004, days))
    shocks = np.repeat(push / 24, 24) + rng.normal(0.0, _HOURLY_SIGMA, n)
    phi = 1.0 - 1.0 / _REVERSION_HOURS
    deviation = np.empty(n)
    level = 0.0
    for i in range(n):  # AR(1) around the path keeps prices in a realistic band
        level = phi * level + shocks[i]
        deviation[i] = level
    drift = push.mean() / 24 * _REVERSION_HOURS  # mean level of the AR(1): take it off the path
    path = np.linspace(np.log(first), np.log(last), n) + 0.08 * np.sin(np.arange(n) / (24 * 58))
    path -= drift
    close = np.clip(np.exp(path + deviation), floor, ceiling)
    open_ = np.concatenate(([close[0]], close[:-1]))
    wick_up = np.abs(rng.normal(0.0, 0.002, n))
    wick_down = np.abs(rng.normal(0.0, 0.002, n))
    volume = rng.lognormal(0.0, 0.3, n) * np.repeat(np.where(event_day, rng.uniform(3, 6, days),
                                                             1.0), 24)
    base_volume = 1e9 / first  # about a billion KRW traded per hour
    return pd.DataFrame({
        "timestamp": stamps,
        "open": open_.round(0),
        "high": (np.maximum(open_, close) * (1 + wick_up)).round(0),
        "low": (np.minimum(open_, close) * (1 - wick_down)).round(0),
        "close": close.round(0),
        "volume": (volume * base_volume).round(6),
    })


def seed(
    s3: Any, bucket: str, prefix: str, data_dirs: Iterable[str] = (), synthetic: bool = True,
    skip: set[tuple[str, str]] = frozenset(),
) -> int:
    """Write the demo symbols (unless ``synthetic`` is False; not the (symbol, timeframe)
    pairs in ``skip``, which have real data) and the CSVs of ``data_dirs`` into ``bucket``
    under ``prefix``, with inventory manifest entries; return the number of objects written."""
    from backtest_core.datastore import S3DataStore, record_files

    started = time.perf_counter()
    jobs: list[tuple[str, str, str]] = (
        [(s, tf, "") for s in DEMO_SYMBOLS for tf in DEMO_TIMEFRAMES if (s, tf) not in skip]
        if synthetic else []
    )
    for folder in data_dirs:
        for path in sorted(Path(folder).glob("*.csv")):
            symbol, sep, timeframe = path.stem.rpartition("-")
            if not sep:
                log.warning("skipping %s: expected SYMBOL-TF.csv", path)
                continue
            jobs.append((symbol, timeframe, str(path)))
    with ThreadPoolExecutor(max_workers=4) as pool:  # fastparquet/pandas release the GIL often
        written = list(pool.map(lambda job: _write(s3, bucket, prefix, *job), jobs))
    record_files(S3DataStore(s3, bucket, prefix), {k: e for part in written for k, e in part.items()})
    count = sum(len(part) for part in written)
    log.info("seeded %d objects (%d symbol/timeframe pairs) into s3://%s/%s in %.0f ms",
             count, len(jobs), bucket, prefix, (time.perf_counter() - started) * 1000)
    return count


def _write(s3: Any, bucket: str, prefix: str, symbol: str, timeframe: str, csv: str
           ) -> dict[str, Any]:
    from backtest_engine import load_csv, to_parquet_layout
    from infra.local.local_data import describe_file

    if csv:
        frame, source = load_csv(csv), Path(csv).name
    else:
        frame, source = synthetic_candles(symbol, timeframe), SYNTHETIC_SOURCE
    objects = to_parquet_layout(frame, symbol, timeframe)
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}{key}", Body=body,
                      Metadata={"source": source}, ContentType="application/vnd.apache.parquet")
    return {key: describe_file(body, key, source=source, origin=source) for key, body in objects.items()}


def main(argv: list[str] | None = None) -> int:
    """``python -m infra.local.demo_data --bucket NAME``: seed any S3 endpoint (e.g. LocalStack).

    boto3 honours ``AWS_ENDPOINT_URL``; DATA_DIRS as for the local stack.
    """
    import argparse
    import os

    import boto3

    parser = argparse.ArgumentParser(description="Upload the demo candles to an S3 bucket.")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", default="data/")
    parser.add_argument("--no-synthetic", action="store_true", help="only DATA_DIRS CSVs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    dirs = [d for d in os.environ.get("DATA_DIRS", "").split(os.pathsep) if d]
    seed(boto3.client("s3"), args.bucket, args.prefix, dirs, synthetic=not args.no_synthetic)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
