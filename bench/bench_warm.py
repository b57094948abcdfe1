"""What a warm worker's caches save (backtest_engine/warm.py; docs/engine.md "Warm
caches"). Printed, not asserted. Run: ``make bench-warm`` (``python bench/bench_warm.py``).

The BTC_KRW demo candles of 2025 (8,760 hourly bars) in S3 (moto in-process, the worker's
``S3CandleReader``: a listing and a GetObject per load), then one shard of the
9,801-combination SMA-cross sweep of ``bench_rules.py`` (its first 491 combinations, the
size the shard plan gives) on a cold process (empty caches) and on a warm one (the same
candles and indicators cached by the run before), best of 5 each, alternating:

- ``load_symbol`` alone (list + get + Parquet parse + validation vs list only);
- the indicators of the shard (every SMA length it uses) computed vs found;
- the whole shard (``run_sweep_shard``).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's infra
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_rules  # noqa: E402

from backtest_engine import RunSpec, warm  # noqa: E402
from backtest_engine.indicators import IndicatorCache  # noqa: E402
from backtest_engine.loading import load_symbol  # noqa: E402
from backtest_engine.sweep import run_sweep_shard  # noqa: E402

REPEATS = 5
START, END = date(2025, 1, 1), date(2025, 12, 31)


def cold_and_warm(fn, clear) -> tuple[float, float]:
    """Best of REPEATS of ``fn`` after ``clear`` (cold) and right after it (warm), the two
    alternating so that the machine's load weighs on both alike."""
    cold, hot = [], []
    for _ in range(REPEATS):
        clear()
        for times in (cold, hot):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return min(cold), min(hot)


def main() -> None:
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                       "AWS_DEFAULT_REGION": "us-east-1"})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3
    from moto import mock_aws

    from backtest_core.storage import S3CandleReader
    from infra.local.demo_data import seed

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bench")
        seed(s3, "bench", "data/")  # the demo candles, as make run stores them
        reader = S3CandleReader(s3, "bench", "data/")

        def load():
            return load_symbol(reader, "BTC_KRW", "1h", START, END)

        cold_load, warm_load = cold_and_warm(load, warm.clear)
        data = load()
        combos = [{"fast": f, "slow": s} for f in bench_rules.LENGTHS
                  for s in bench_rules.LENGTHS][:491]
        lengths = sorted({v for c in combos for v in c.values()})

        def indicators():
            cache = IndicatorCache(data.candles, data.identity)
            for n in lengths:
                cache.indicator("sma", {"length": n}, '{"price":"close","shift":0}',
                                lambda: data.candles.close)

        cold_ind, warm_ind = cold_and_warm(indicators, warm.INDICATORS.clear)
        spec = RunSpec(strategy=None, definition=bench_rules.SMA_CROSS, symbols=["BTC_KRW"],
                       timeframe="1h", start_date=START, end_date=END, fee_bps=10.0,
                       position={"stop_loss": {"pct": 2}, "take_profit": {"pct": 4}})

        def shard():
            run_sweep_shard(spec, reader, "BTC_KRW", combos)

        cold_shard, warm_shard = cold_and_warm(shard, warm.clear)
    print(f"warm caches, BTC_KRW 1h 2025 ({len(data.candles):,} bars) from S3 (moto "
          f"in-process), best of {REPEATS}, cold and warm alternating:")
    print(f"  load_symbol                 : cold {cold_load * 1e3:7.1f} ms, warm "
          f"{warm_load * 1e3:7.1f} ms (the listing only)")
    print(f"  {len(lengths)} SMA lengths of a shard   : cold {cold_ind * 1e3:7.1f} ms, warm "
          f"{warm_ind * 1e3:7.1f} ms")
    print(f"  shard of {len(combos)} combinations   : cold {cold_shard:7.3f} s,  warm "
          f"{warm_shard:7.3f} s  (saved {(cold_shard - warm_shard) * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
