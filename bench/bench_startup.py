"""How long `make run` takes to be usable: wall time from starting the stack process to
the first 200 of /api/health (imports included), the "ready in" figure it prints, and the
latency of the first submit and the first status read right after (docs/api.md: 100 ms and
50 ms), with the API sandboxes warmed at start (the default) and without
(``LOCAL_WARM_API=0``: each function's first request pays its cold start).

    .venv/bin/python bench/bench_startup.py [RUNS]

Prints one line per run (warm and cold starts interleaved) and the medians, with the load
average (the figures depend on what else the machine is doing).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.local.process import StackProcess  # noqa: E402

BODY = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"], "start_date": "2024-01-01",
        "end_date": "2024-03-31", "timeframe": "1d"}


def _timed(request: urllib.request.Request | str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as reply:
        body = reply.read()
    return (time.perf_counter() - started) * 1000, body


def one_run(log: Path, warm: bool) -> dict[str, float]:
    started = time.perf_counter()
    stack = StackProcess(log, LOCAL_WARM_API="1" if warm else "0")
    try:
        stack.wait_healthy(120)
        wall = time.perf_counter() - started
        submit_ms, body = _timed(urllib.request.Request(
            f"{stack.api_url}/api/backtests/run-async", data=json.dumps(BODY).encode(),
            headers={"content-type": "application/json"}))
        task_id = json.loads(body)["task_id"]
        status_ms, _ = _timed(f"{stack.api_url}/api/backtests/status/{task_id}")
        deadline = time.monotonic() + 10  # the banner follows the first answer closely
        while not (printed := re.search(r"ready in ([0-9.]+) s", log.read_text())):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return {"wall_s": wall, "banner_s": float(printed.group(1)) if printed else float("nan"),
                "submit_ms": submit_ms, "status_ms": status_ms}
    finally:
        stack.stop()


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    figures: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            for warm in (True, False):
                row = one_run(Path(tmp) / f"stack-{i}-{warm}.log", warm)
                figures[warm].append(row)
                print(f"run {i + 1} ({'warm' if warm else 'cold'} API sandboxes): healthy after "
                      f"{row['wall_s']:.2f} s (banner {row['banner_s']:.1f} s); first submit "
                      f"{row['submit_ms']:.0f} ms, first status {row['status_ms']:.0f} ms",
                      flush=True)
    load = os.getloadavg()[0]
    for warm, rows in figures.items():
        med = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
        print(f"median, {'warm' if warm else 'cold'} API sandboxes (LOCAL_WARM_API="
              f"{int(warm)}): healthy after {med['wall_s']:.2f} s, banner {med['banner_s']:.1f} s,"
              f" first submit {med['submit_ms']:.0f} ms, first status {med['status_ms']:.0f} ms")
    print(f"({runs} runs each, load average {load:.1f}, {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
