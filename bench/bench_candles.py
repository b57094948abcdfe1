"""GET /api/candles figures against the local stack (`make bench-candles`).

    python bench/bench_candles.py [--repeat 20]
    API_URL=http://127.0.0.1:8000 python bench/bench_candles.py    # an already running stack

Without API_URL it starts `python -m infra.local.stack` on free loopback ports (the demo
data: BTC_KRW and ETH_KRW, 1h and 1d, 2024-2025) and stops it at the end. For each case
it prints the first request (cold: the function's sandbox imports numpy/pandas and reads
the year files) and the p50/p95 of the next ``--repeat`` ones, the points, bars per point
and the answer's size (the chart's request: max_points 1500).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make the repository's infra package importable

from infra.local.process import StackProcess  # noqa: E402

CASES = [  # (label, query)
    ("1d, 2 years", "symbol=BTC_KRW&timeframe=1d&start_date=2024-01-01&end_date=2025-12-31"),
    ("1h, 6 months", "symbol=BTC_KRW&timeframe=1h&start_date=2024-01-01&end_date=2024-06-30"),
    ("1h, 2 years", "symbol=BTC_KRW&timeframe=1h&start_date=2024-01-01&end_date=2025-12-31"),
]


def timed_get(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as resp:
        body = resp.read()
    return (time.perf_counter() - started) * 1000, body


def bench(api_url: str, repeat: int) -> None:
    print(f"{'case':<14} {'cold ms':>8} {'p50 ms':>7} {'p95 ms':>7} {'points':>7} "
          f"{'bars/pt':>7} {'bytes':>8}")
    for label, query in CASES:
        url = f"{api_url}/api/candles?{query}&max_points=1500"
        cold, body = timed_get(url)
        warm = sorted(timed_get(url)[0] for _ in range(repeat))
        view = json.loads(body)
        p95 = warm[min(len(warm) - 1, round(0.95 * (len(warm) - 1)))]
        print(f"{label:<14} {cold:8.1f} {statistics.median(warm):7.1f} {p95:7.1f} "
              f"{len(view['t']):7d} {view['bucket_bars']:7d} {len(body):8d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    if os.environ.get("API_URL"):
        bench(os.environ["API_URL"].rstrip("/"), args.repeat)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-candles-") as tmp:
        stack = StackProcess(Path(tmp) / "stack.log", WORKERS="1")
        try:
            stack.wait_healthy(90)
            bench(stack.api_url, args.repeat)
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
