"""How long `make run` takes to be usable: wall time from starting the stack process to
the first 200 of /api/health (imports included), and the "ready in" figure it prints.

    .venv/bin/python bench/bench_startup.py [RUNS]

Prints one line per run and the median, with the load average (the figures depend on
what else the machine is doing).
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.local.process import StackProcess  # noqa: E402


def one_run(log: Path) -> tuple[float, float]:
    started = time.perf_counter()
    stack = StackProcess(log)
    try:
        stack.wait_healthy(120)
        wall = time.perf_counter() - started
        deadline = time.monotonic() + 10  # the banner follows the first answer closely
        while not (printed := re.search(r"ready in ([0-9.]+) s", log.read_text())):
            if time.monotonic() > deadline:
                return wall, float("nan")
            time.sleep(0.05)
        return wall, float(printed.group(1))
    finally:
        stack.stop()


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    walls, printed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            wall, shown = one_run(Path(tmp) / f"stack-{i}.log")
            walls.append(wall)
            printed.append(shown)
            print(f"run {i + 1}: healthy after {wall:.2f} s (process start, imports included);"
                  f" banner says ready in {shown:.1f} s", flush=True)
    load = os.getloadavg()[0]
    print(f"median: healthy after {statistics.median(walls):.2f} s, banner "
          f"{statistics.median(printed):.1f} s ({runs} runs, load average {load:.1f},"
          f" {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
