"""Sweep and fan-out figures against the local stack (`make bench-sweep`). Printed, not
asserted.

A sweep of 64 combinations × 4 symbols × 2 years of 1h bars (BTC_KRW, ETH_KRW of the demo
set plus two more synthetic symbols written into the stack's S3), once with WORKERS=1 and
once with WORKERS=2, each in a fresh local stack:
  - wall time from submit to completed, the ratio, combinations·symbols per second;
  - Step Functions overhead per shard: the same sweep over one day of bars (engine time
    ~0) with one worker, wall time / shards; and the 8 shards' engine time in-process;
  - a plain 4-symbol backtest of 2 years of 5m bars (842,112 candles, above the default
    FANOUT_MIN_CANDLES): sharded one per symbol in the WORKERS=2 stack, against the
    unsharded run in the WORKERS=1 stack (whose threshold is raised);
  - status latency of a completed ~4 MB result (the result inlined), median of 20 reads;
  - the cost of the overfitting checks, in-process, side by side on the same 64
    combinations × 2 symbols: the plain sweep's shards, the PBO's share (the shards' block
    sums and the aggregation's CSCV with S = 16, 12,870 choices) and the shards of a
    5-fold walk-forward sweep (``--validation`` prints only this part: no stack).
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make the repository's infra package importable

import boto3  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from backtest_engine import MemoryReader, RunSpec, to_parquet_layout  # noqa: E402
from backtest_engine.sweep import run_sweep_shard  # noqa: E402
from infra.local.demo_data import synthetic_candles  # noqa: E402
from infra.local.process import StackProcess  # noqa: E402

SYMBOLS = ["BTC_KRW", "ETH_KRW", "SOL_KRW", "XRP_KRW"]
EXTRA = {"SOL_KRW": ("BTC_KRW", 0.002), "XRP_KRW": ("ETH_KRW", 0.0005)}  # source, scale
GRID = {"volume_window": [10, 20, 40, 80], "top_percentile": [0.1, 0.2, 0.3, 0.4],
        "breakout_buffer": [0.0, 0.005], "hold_period_bars": [1, 4]}
WINDOW = {"start_date": "2024-01-01", "end_date": "2025-12-31", "timeframe": "1h"}
SWEEP = {"strategy": "volume_zone_breakout", "params": {}, "grid": GRID, "symbols": SYMBOLS,
         **WINDOW}
# Above the default FANOUT_MIN_CANDLES (500,000): 4 symbols × 2 years of 5m bars = 842,112.
PLAIN = {"strategy": "volume_zone_breakout", "params": {"breakout_buffer": 0.02},
         "symbols": SYMBOLS, "start_date": "2024-01-01", "end_date": "2025-12-31",
         "timeframe": "5m"}
TINY = {**SWEEP, "start_date": "2024-06-01", "end_date": "2024-06-01"}  # 24 bars a symbol
BIG_RESULT = {"strategy": "volume_zone_breakout", "params": {"top_percentile": 1.0},
              "symbols": ["BTC_KRW"], "start_date": "2024-01-01", "end_date": "2025-09-30",
              "timeframe": "1h"}
SHARD_COMBINATIONS = 32
REPEATS = 3  # best of: the figures are only as quiet as the machine
DEADLINE_S = 900.0


def _frame(symbol: str):
    if symbol in EXTRA:
        source, scale = EXTRA[symbol]
        frame = synthetic_candles(source, "1h").iloc[::-1].reset_index(drop=True)
        frame["timestamp"] = synthetic_candles(source, "1h")["timestamp"]
        for column in ("open", "high", "low", "close"):
            frame[column] = frame[column] * scale
        return frame
    return synthetic_candles(symbol, "1h")


def _five_minute(symbol: str):
    """2 years of 5m bars: a seeded random walk (the demo set has 1h and 1d only)."""
    rng = np.random.default_rng(SYMBOLS.index(symbol) + 5)
    stamps = pd.date_range("2024-01-01", "2026-01-01", freq="5min", inclusive="left", tz="UTC")
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, len(stamps))))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0, 0.0005, len(stamps))) * close
    return pd.DataFrame({"timestamp": stamps, "open": open_,
                         "high": np.maximum(open_, close) + spread,
                         "low": np.minimum(open_, close) - spread, "close": close,
                         "volume": rng.lognormal(0, 0.5, len(stamps))})


def _call(api: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(api + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as resp:
        return resp.status, json.loads(resp.read())


def _wait(api: str, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        _, view = _call(api, "GET", f"/api/backtests/status/{task_id}")
        if view["status"] in ("completed", "failed", "cancelled"):
            if view["status"] != "completed":
                raise RuntimeError(f"{task_id} {view['status']}: {view['error']}")
            return view
        time.sleep(0.05)  # poll pacing of a deadline loop
    raise RuntimeError(f"{task_id} not done in {DEADLINE_S}s")


def _timed(api: str, path: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Best wall time (submit → completed) of REPEATS runs, and the last final view."""
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        _, created = _call(api, "POST", path, body)
        view = _wait(api, created["task_id"])
        best = min(best, time.perf_counter() - started)
    return best, view


@contextmanager
def _stack(**env: str) -> Iterator[StackProcess]:
    with tempfile.TemporaryDirectory() as folder:
        stack = StackProcess(Path(folder) / "stack.log", SWEEP_SHARD_COMBINATIONS=str(
            SHARD_COMBINATIONS), **env)
        try:
            stack.wait_healthy(120)
            s3 = boto3.client("s3", endpoint_url=stack.aws_endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            bucket = s3.list_buckets()["Buckets"][0]["Name"]
            layouts = [to_parquet_layout(_frame(symbol), symbol, "1h") for symbol in EXTRA]
            layouts += [to_parquet_layout(_five_minute(symbol), symbol, "5m")
                        for symbol in SYMBOLS]
            for layout in layouts:
                for key, data in layout.items():
                    s3.put_object(Bucket=bucket, Key=f"data/{key}", Body=data)
            yield stack
        finally:
            stack.stop()


def _engine_seconds() -> tuple[float, int]:
    """The sweep's shards run by the engine in this process: (seconds, shards)."""
    objects: dict[str, bytes] = {}
    for symbol in SYMBOLS:
        objects.update(to_parquet_layout(_frame(symbol), symbol, "1h"))
    reader = MemoryReader(objects)
    spec = RunSpec(strategy="volume_zone_breakout", symbols=SYMBOLS, timeframe="1h",
                   start_date=date(2024, 1, 1), end_date=date(2025, 12, 31))
    from backtest_core.sweeps import expand_grid

    combos = expand_grid(GRID)
    chunks = [combos[i:i + SHARD_COMBINATIONS] for i in range(0, len(combos),
                                                                SHARD_COMBINATIONS)]
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        for symbol in SYMBOLS:
            for chunk in chunks:
                run_sweep_shard(spec, reader, symbol, chunk)
        best = min(best, time.perf_counter() - started)
    return best, len(SYMBOLS) * len(chunks)


def _run_shard_job(job: tuple[str, list[dict[str, Any]]]) -> int:
    symbol, chunk = job
    return len(run_sweep_shard(_SPEC, _reader(), symbol, chunk)["entries"])


_SPEC = RunSpec(strategy="volume_zone_breakout", symbols=SYMBOLS, timeframe="1h",
                start_date=date(2024, 1, 1), end_date=date(2025, 12, 31))


@functools.cache
def _reader() -> MemoryReader:
    objects: dict[str, bytes] = {}
    for symbol in SYMBOLS:
        objects.update(to_parquet_layout(_frame(symbol), symbol, "1h"))
    return MemoryReader(objects)


def _process_pool_seconds() -> dict[int, float]:
    """The sweep's 8 shards in a pool of 1 and of 2 processes: how much parallelism the
    machine has to give right now (no stack, no queue)."""
    from backtest_core.sweeps import expand_grid

    combos = expand_grid(GRID)
    jobs = [(s, combos[i:i + SHARD_COMBINATIONS]) for s in SYMBOLS
            for i in range(0, len(combos), SHARD_COMBINATIONS)]
    out = {}
    for workers in (1, 2):
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_run_shard_job, jobs[:workers]))  # warm: imports, candles
            started = time.perf_counter()
            list(pool.map(_run_shard_job, jobs))
            out[workers] = time.perf_counter() - started
    return out


def _shared_vs_single() -> tuple[float, float]:
    """64 combinations on BTC_KRW: one shard (candles loaded and validated once, profiles
    shared) against 64 single runs (each loads, validates and builds a full document)."""
    from backtest_core.sweeps import expand_grid
    from backtest_engine import run_backtest

    reader = MemoryReader(to_parquet_layout(_frame("BTC_KRW"), "BTC_KRW", "1h"))
    spec = RunSpec(strategy="volume_zone_breakout", symbols=["BTC_KRW"], timeframe="1h",
                   start_date=date(2024, 1, 1), end_date=date(2025, 12, 31))
    combos = expand_grid(GRID)
    started = time.perf_counter()
    run_sweep_shard(spec, reader, "BTC_KRW", combos)
    shard_s = time.perf_counter() - started
    started = time.perf_counter()
    for combo in combos:
        run_backtest(RunSpec(**{**spec.__dict__, "params": combo}), reader)
    return shard_s, time.perf_counter() - started


def _status_ms(api: str) -> tuple[float, int]:
    """Median latency of the status call (answer read, not parsed) and the result's size."""
    _, created = _call(api, "POST", "/api/backtests/run-async", BIG_RESULT)
    view = _wait(api, created["task_id"])
    size = len(json.dumps(view["result"], separators=(",", ":")).encode())
    samples = []
    for _ in range(20):
        started = time.perf_counter()
        with urllib.request.urlopen(f"{api}/api/backtests/status/{created['task_id']}",
                                    timeout=60) as resp:
            resp.read()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), size


def _validation_costs() -> None:
    """Plain sweep vs its PBO share vs walk-forward, on 2 symbols × 64 combinations."""
    from backtest_core.sweeps import expand_grid
    from backtest_engine.adapter import Engine
    from backtest_engine.stats import block_fields
    from backtest_engine.sweep import WalkForward

    combos, symbols = expand_grid(GRID), SYMBOLS[:2]
    spec = RunSpec(strategy="volume_zone_breakout", symbols=symbols, timeframe="1h",
                   start_date=date(2024, 1, 1), end_date=date(2025, 12, 31))
    reader = _reader()

    def shards(walk_forward: WalkForward | None) -> tuple[float, list[dict[str, Any]]]:
        best, docs = float("inf"), []
        for _ in range(REPEATS):
            started = time.perf_counter()
            docs = [run_sweep_shard(spec, reader, s, combos, walk_forward=walk_forward)
                    for s in symbols]
            best = min(best, time.perf_counter() - started)
        return best, docs

    plain_s, docs = shards(None)
    wf_s, _ = shards(WalkForward(folds=5, anchored=False, rank_by="portfolio.sharpe"))
    rows = docs[0]["pbo_rows"]
    returns = np.random.default_rng(1).normal(0, 0.01, (len(combos), rows))
    started = time.perf_counter()
    for _ in symbols:
        for r in returns:
            block_fields(r, 16)
    sums_s = time.perf_counter() - started
    engine = Engine()
    started = time.perf_counter()
    pbos = []
    for doc in docs:
        decoded = json.loads(json.dumps(doc["entries"]))
        pbos.append(engine.pbo(rows, [e["pbo_sum"] for e in decoded],
                               [e["pbo_sumsq"] for e in decoded]).pbo)
    cscv_s = time.perf_counter() - started
    print(f"overfitting checks, {len(symbols)} symbols x {len(combos)} combinations, "
          f"{rows + 1:,} bars of 1h each, in-process (best of {REPEATS}):")
    print(f"{'':36}{'plain sweep':>14}{'PBO share':>14}{'walk-forward 5':>16}")
    print(f"{'shards (engine), s':36}{plain_s:>14.2f}{sums_s:>14.3f}{wf_s:>16.2f}")
    print(f"{'aggregation (CSCV, S = 16), s':36}{'-':>14}{cscv_s:>14.3f}{'-':>16}")
    print(f"{'vs the plain sweep (sums included)':36}{'1.00x':>14}"
          f"{(plain_s + cscv_s) / plain_s:>13.2f}x{wf_s / plain_s:>15.2f}x")
    free = RunSpec(strategy="volume_zone_breakout", symbols=symbols, timeframe="1h",
                   start_date=date(2024, 1, 1), end_date=date(2025, 12, 31), fee_bps=0.0)
    free_pbos = []
    for symbol in symbols:
        doc = run_sweep_shard(free, reader, symbol, combos)
        free_pbos.append(engine.pbo(doc["pbo_rows"], [e["pbo_sum"] for e in doc["entries"]],
                                    [e["pbo_sumsq"] for e in doc["entries"]]).pbo)
    for label, values in (("fee 5 bps", pbos), ("fee 0", free_pbos)):
        print(f"PBO of this grid on the demo data (S = 16), {label}: " + ", ".join(
            f"{s} {p:.2f}" for s, p in zip(symbols, values, strict=True)))


def main() -> int:
    if "--validation" in sys.argv[1:]:
        _validation_costs()
        return 0
    print(f"sweep: {len(SYMBOLS)} symbols x 64 combinations, 2 years of 1h bars; "
          f"{SHARD_COMBINATIONS} combinations per shard; best of {REPEATS} runs; "
          f"load average at start {os.getloadavg()[0]:.1f}")
    with _stack(WORKERS="1", FANOUT_MIN_CANDLES="100000000") as one:  # nothing fans out
        wall_1, view_1 = _timed(one.api_url, "/api/sweeps/run-async", SWEEP)
        tiny_s, tiny_view = _timed(one.api_url, "/api/sweeps/run-async", TINY)
        plain_whole, plain_view = _timed(one.api_url, "/api/backtests/run-async", PLAIN)
        status_ms, size = _status_ms(one.api_url)
    with _stack(WORKERS="2") as two:  # the default threshold: the plain run fans out
        wall_2, view_2 = _timed(two.api_url, "/api/sweeps/run-async", SWEEP)
        plain_sharded, sharded_view = _timed(two.api_url, "/api/backtests/run-async", PLAIN)
    engine_s, shards = _engine_seconds()
    shard_s, singles_s = _shared_vs_single()
    pool_s = _process_pool_seconds()
    assert view_1["shards_total"] == view_2["shards_total"] == shards
    assert plain_view["shards_total"] == 0 and sharded_view["shards_total"] == len(SYMBOLS)
    pairs = 64 * len(SYMBOLS)
    print(f"{'':34}{'WORKERS=1':>12}{'WORKERS=2':>12}")
    print(f"{'sweep wall time, s':34}{wall_1:>12.2f}{wall_2:>12.2f}   "
          f"speed-up {wall_1 / wall_2:.2f}x")
    print(f"{'combinations x symbols / s':34}{pairs / wall_1:>12.1f}{pairs / wall_2:>12.1f}")
    print(f"engine time of the {shards} shards in-process: {engine_s:.2f} s (one core, "
          f"sequential)")
    print(f"engine, the {shards} shards in a pool of 1 / 2 processes: {pool_s[1]:.2f} s / "
          f"{pool_s[2]:.2f} s ({pool_s[1] / pool_s[2]:.2f}x: the parallelism the machine has)")
    print(f"engine, 64 combinations on one symbol: one shard {shard_s:.2f} s vs 64 single "
          f"runs {singles_s:.2f} s ({singles_s / shard_s:.1f}x)")
    tiny_shards = tiny_view["shards_total"]
    print(f"Step Functions + queue + storage overhead per shard (WORKERS=1, {tiny_shards} "
          f"shards of one day of bars, engine time ~0): {tiny_s / tiny_shards * 1000:.0f} ms")
    print(f"plain 4-symbol backtest (2 years of 5m, {4 * 210_528:,} candles): unsharded "
          f"(WORKERS=1) {plain_whole:.2f} s, sharded 1 per symbol (WORKERS=2) "
          f"{plain_sharded:.2f} s")
    print(f"status of a completed {size / 1e6:.1f} MB result (inlined): median "
          f"{status_ms:.1f} ms of 20 reads")
    _validation_costs()
    print(f"load average at end {os.getloadavg()[0]:.1f} (2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
