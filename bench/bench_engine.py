"""Engine throughput figures (printed; not a timed test). Run: ``make bench``.

Input: 100,000 real 5-minute bars (../shared/data/crypto-2018/*-5m.csv concatenated as
one series, cycled as needed, timestamps renumbered every 5 minutes so they stay unique
and sorted); generated random-walk bars when that folder is absent (a note is printed).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from backtest_engine import MemoryReader, RunSpec, load_csv, run_backtest, to_parquet_layout
from backtest_engine.candles import candles_from_frame
from backtest_engine.cli import main as cli_main
from backtest_engine.strategies import get, parse_params

REPO = Path(__file__).resolve().parents[1]
CRYPTO = (REPO / "../shared/data/crypto-2018").resolve()
BARS = 100_000
REFERENCE_BARS = 3_000
CLI_BARS = 200_000


def _real_frame(bars: int) -> pd.DataFrame | None:
    files = sorted(CRYPTO.glob("*-5m.csv"))
    if not files:
        return None
    parts = [load_csv(f) for f in files]
    frame = pd.concat(parts * (bars // sum(map(len, parts)) + 1), ignore_index=True)[:bars]
    frame["timestamp"] = pd.date_range("2018-01-01", periods=bars, freq="5min", tz="UTC")
    return frame


def _generated_frame(bars: int) -> pd.DataFrame:
    rng = np.random.default_rng(42)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, bars)))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0, 0.001, bars)) * close
    return pd.DataFrame({
        "timestamp": pd.date_range("2018-01-01", periods=bars, freq="5min", tz="UTC"),
        "open": open_, "high": np.maximum(open_, close) + spread,
        "low": np.minimum(open_, close) - spread, "close": close,
        "volume": rng.uniform(0, 1000, bars)})


def _reference_module():
    path = REPO / "tests/unit/engine/engine_vzb_reference.py"
    spec = importlib.util.spec_from_file_location("engine_vzb_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _best_of(repeats: int, fn) -> float:
    """Fastest wall time of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _best_wall_and_cpu(repeats: int, fn) -> tuple[float, float]:
    """(fastest wall time, fastest CPU time of this process) of ``repeats`` calls, in
    seconds. The ratios use CPU time: on a shared machine the wall time of either side
    depends on what else runs; both sides are single-threaded Python/numpy."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def _bench_cli(reference_rate: float) -> None:
    """``backtest run`` on CLI_BARS bars from a Parquet data directory, end to end (read,
    strategy, both portfolios, document, output), against the per-row reference: as a
    user runs it (the default: the table) and with ``--json`` (the whole document)."""
    frame = _real_frame(CLI_BARS) if CRYPTO.exists() else None
    frame = _generated_frame(CLI_BARS) if frame is None else frame
    argv = ["run", "--strategy", "volume_zone_breakout", "--data-dir", "", "--symbols",
            "BENCH_BTC", "--timeframe", "5m"]
    with tempfile.TemporaryDirectory() as folder:
        for key, data in to_parquet_layout(frame, "BENCH_BTC", "5m").items():
            (Path(folder) / key).parent.mkdir(parents=True, exist_ok=True)
            (Path(folder) / key).write_bytes(data)
        argv[4] = folder

        def run_cli(extra: list[str]) -> None:
            with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
                assert cli_main([*argv, *extra]) == 0

        for extra, what in (([], "the table, the default"),
                            (["--json"], "--json: the whole document to stdout")):
            wall, cpu = _best_wall_and_cpu(5, lambda e=extra: run_cli(e))
            rate = CLI_BARS / cpu
            print(f"backtest run{' ' if extra else ''}{' '.join(extra)}, {CLI_BARS:,} bars "
                  f"from Parquet ({what}): {cpu:.3f} s CPU ({wall:.3f} s wall) = "
                  f"{rate:,.0f} bars/s = {rate / reference_rate:.0f}x the per-row reference "
                  f"(target >= 30x)")


def main() -> int:
    """Print candles/s of both strategies, the reference, and a full one-symbol run."""
    frame = _real_frame(BARS)
    if frame is None:
        print(f"note: {CRYPTO} absent; using generated random-walk bars")
        frame = _generated_frame(BARS)
    else:
        print(f"data: {BARS:,} real 5m bars from {CRYPTO} (concatenated, renumbered)")
    candles = candles_from_frame(frame, "bench")
    for name in ("volume_zone_breakout", "volume_long_candle"):
        strategy = get(name)
        params = parse_params(strategy, {})
        seconds = _best_of(5, lambda s=strategy, p=params: s.generate(candles, p, lambda _n: 0))
        print(f"{name} (defaults, one core): {BARS / seconds:,.0f} candles/s "
              f"({seconds * 1e3:.1f} ms for {BARS:,} bars)")
    ref = _reference_module()
    sub = candles.window(None, int(candles.ts_ns[REFERENCE_BARS]))
    wall, cpu = _best_wall_and_cpu(3, lambda: ref.reference_levels(
        sub.low, sub.high, sub.volume, 10, 20, 0.2))
    reference_rate = REFERENCE_BARS / cpu
    print(f"plain per-window reference (first {REFERENCE_BARS:,} bars): "
          f"{reference_rate:,.0f} candles/s ({cpu:.3f} s CPU, {wall:.3f} s wall)")
    _bench_cli(reference_rate)
    reader = MemoryReader(to_parquet_layout(frame, "BENCH_BTC", "5m"))
    spec = RunSpec(strategy="volume_zone_breakout", symbols=["BENCH_BTC"], timeframe="5m")
    seconds = _best_of(5, lambda: run_backtest(spec, reader, run_id="bench"))
    doc = run_backtest(spec, reader, run_id="bench")
    print(f"full one-symbol run_backtest (parquet decode, strategy, both metric blocks, "
          f"document; {doc['total_signals']:,} signals): {seconds:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
