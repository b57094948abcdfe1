"""Rule document figures (printed side by side; not a timed test). Run: ``make bench-rules``.

(a) masks only: a 5-node entry rule (docs/rules.md counts operands and conditions) on
1,000,000 generated one-minute bars, bars/s on one core — cold (a fresh IndicatorCache:
indicators computed) and warm (indicators cached, as in a sweep). Goal ≥ 5 M bars/s.
(b) the SMA-cross sweep fast 2..100 × slow 2..100 (9,801 combinations, stop 2 %, take
4 %, fee 10 bps) over 8,760 hourly bars, in-process through the engine's sweep path
(``run_sweep_shard`` over one symbol, every combination), beside the vectorbt 1.2
reference figure of the issue (20 s warm on one core under load, 26 s first call). The
growth of the peak RSS during the sweep is printed: masks are produced one combination at
a time, so it stays a few MB (9,801 full masks would be 9,801 × 8,760 × 2 bytes ≈ 172 MB).
(c) the same sweep submitted over HTTP to a local stack as `make run WORKERS=2` starts it
(its own ports; the demo BTC_KRW 1h of 2025 = 8,760 bars; shards as the template's
SWEEP_SHARD_COMBINATIONS plans them), submit → completed, worker cold starts included.
``--no-stack`` skips it.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from backtest_contract.rules import parse_rule_document
from backtest_engine import MemoryReader, RunSpec, to_parquet_layout
from backtest_engine.candles import Candles
from backtest_engine.indicators import IndicatorCache
from backtest_engine.strategies.rules import evaluate_rules
from backtest_engine.sweep import run_sweep_shard

MASK_BARS = 1_000_000
SWEEP_BARS = 8_760
LENGTHS = range(2, 101)
VECTORBT_WARM_S, VECTORBT_FIRST_S = 20.0, 26.0
# crosses_above(1) · ema(2) · mul(3) · sma(4) · 1.002(5): the EMA crossing 0.2 % above the SMA
FIVE_NODES = {"name": "bench_five", "entry": {"crosses_above": [
    {"ind": "ema", "length": 12}, {"mul": [{"ind": "sma", "length": 50}, 1.002]}]}}
SMA_CROSS = {"name": "sma_cross", "params": {
    "fast": {"type": "int", "default": 10, "min": 2, "max": 100},
    "slow": {"type": "int", "default": 30, "min": 2, "max": 100}},
    "entry": {"crosses_above": [{"ind": "sma", "length": "$fast"},
                                {"ind": "sma", "length": "$slow"}]},
    "exit": {"crosses_below": [{"ind": "sma", "length": "$fast"},
                               {"ind": "sma", "length": "$slow"}]}}


def random_walk(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.exponential(0.001, n))
    low = np.minimum(open_, close) * (1 - rng.exponential(0.001, n))
    return {"open": open_, "high": high, "low": low, "close": close,
            "volume": rng.uniform(1, 100, n)}


def minute_candles(n: int) -> Candles:
    cols = random_walk(n, 7)
    ts = np.datetime64("2024-01-01", "ns").astype(np.int64) + np.arange(n, dtype=np.int64) * 60 * 10**9
    return Candles(ts, cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"])


def hourly_reader(n: int) -> MemoryReader:
    df = pd.DataFrame(random_walk(n, 11))
    df.insert(0, "timestamp", pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"))
    return MemoryReader(to_parquet_layout(df, "BTC_KRW", "1h"))


def best_of(repeats: int, fn):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    candles = minute_candles(MASK_BARS)
    doc = parse_rule_document(FIVE_NODES)
    cold_s, masks = best_of(5, lambda: evaluate_rules(doc, {}, candles, IndicatorCache(candles)))
    cache = IndicatorCache(candles)
    evaluate_rules(doc, {}, candles, cache)
    warm_s, _ = best_of(5, lambda: evaluate_rules(doc, {}, candles, cache))
    print(f"(a) 5-node rule, {MASK_BARS:,} one-minute bars, masks only ({int(masks.entry.sum()):,}"
          " entry bars), best of 5, one core:")
    print(f"    cold (ema + sma computed) : {cold_s * 1e3:8.1f} ms → "
          f"{MASK_BARS / cold_s / 1e6:7.1f} M bars/s   (goal ≥ 5 M bars/s)")
    print(f"    warm (indicators cached)  : {warm_s * 1e3:8.1f} ms → "
          f"{MASK_BARS / warm_s / 1e6:7.1f} M bars/s")

    reader = hourly_reader(SWEEP_BARS)
    spec = RunSpec(strategy=None, definition=SMA_CROSS, symbols=["BTC_KRW"], timeframe="1h",
                   fee_bps=10.0, position={"stop_loss": {"pct": 2}, "take_profit": {"pct": 4}})
    combos = [{"fast": f, "slow": s} for f in LENGTHS for s in LENGTHS]
    before = rss_mb()
    start = time.perf_counter()
    shard = run_sweep_shard(spec, reader, "BTC_KRW", combos)
    sweep_s = time.perf_counter() - start
    grown = rss_mb() - before
    trades = sum(e["portfolio"]["trades"] for e in shard["entries"])
    print(f"(b) SMA-cross sweep {len(LENGTHS)}×{len(LENGTHS)} = {len(combos):,} combinations, "
          f"stop 2 % / take 4 % / fee 10 bps, {shard['bars']:,} hourly bars, one core, "
          f"run_sweep_shard in-process:")
    print(f"    this engine               : {sweep_s:8.2f} s  ({len(combos) / sweep_s:,.0f} "
          f"combinations/s, {trades:,} trades in all; peak RSS grew {grown:.0f} MB)")
    print(f"    vectorbt 1.2 (issue)      : {VECTORBT_WARM_S:8.2f} s warm, "
          f"{VECTORBT_FIRST_S:.0f} s first call")
    print(f"    ratio                     : {VECTORBT_WARM_S / sweep_s:8.1f}× faster than the "
          "vectorbt warm figure")
    if len(shard["entries"]) != len(combos):
        sys.exit("the sweep lost combinations")
    if "--no-stack" not in sys.argv:
        stack_sweep(len(combos))


def stack_sweep(expected: int) -> None:
    """(c): the sweep through a local stack with two workers, submit → completed."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's infra
    from infra.local.process import StackProcess

    lengths = list(LENGTHS)
    body = {"definition": {**SMA_CROSS, "position": {"stop_loss": {"pct": 2},
                                                      "take_profit": {"pct": 4}}},
            "grid": {"fast": lengths, "slow": lengths}, "max_combinations": 10_000,
            "fee_bps": 10, "rank_by": "portfolio.total_return_pct", "symbols": ["BTC_KRW"],
            "start_date": "2025-01-01", "end_date": "2025-12-31", "timeframe": "1h"}
    with tempfile.TemporaryDirectory() as folder:
        stack = StackProcess(Path(folder) / "stack.log", WORKERS="2")
        try:
            stack.wait_healthy(120)

            def call(method: str, path: str, data: dict | None = None) -> dict:
                request = urllib.request.Request(
                    stack.api_url + path, method=method,
                    data=None if data is None else json.dumps(data).encode(),
                    headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=60) as answer:
                    return json.loads(answer.read())

            start = time.perf_counter()
            created = call("POST", "/api/sweeps/run-async", body)
            while True:  # a deadline-free poll: the figure is the time it takes
                status = call("GET", f"/api/backtests/status/{created['task_id']}?view=summary")
                if status["status"] in ("completed", "failed", "cancelled"):
                    break
                time.sleep(0.25)
            took = time.perf_counter() - start
        finally:
            stack.stop()
    if status["status"] != "completed" or created["combinations"] != expected:
        sys.exit(f"the stack sweep ended {status['status']}: {status.get('error')}")
    print(f"(c) the same sweep through a local stack, WORKERS=2 ({created['shards']} shards), "
          "submit → completed:")
    print(f"    this service              : {took:8.2f} s  "
          f"({VECTORBT_WARM_S / took:.2f}× the vectorbt warm figure's speed, "
          f"{VECTORBT_FIRST_S / took:.2f}× its first call's)")


if __name__ == "__main__":
    main()
