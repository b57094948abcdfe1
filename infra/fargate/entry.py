"""Fargate entry point for long runs: run the attempt the worker claimed for this container.

The worker (usecases/long_run.py) claims the task and starts this container with the
overrides ``TASK_ID`` and ``ATTEMPT``; everything else comes from the functions' settings
(TASKS_TABLE, BUCKET, ...). The container adopts that attempt (no second claim) and runs it
exactly like the worker Lambda would: lease + heartbeat, progress, cancel checks,
per-attempt result key, conditional completion.

Exit codes: 0 when the task reached a terminal state or the attempt was no longer ours
(skipped); 1 on a transient error (the lease is released, so the worker's lease
watch relaunches it at its next look, within 15 min); 2 on a usage error.
"""

from __future__ import annotations

import os
import sys

from backtest_core.observability import metrics
from backtest_core.services import services
from backtest_core.usecases.long_run import run_adopted
from backtest_engine.adapter import Engine


def main() -> int:
    # The two RunTask overrides are the only variables read here; the rest is Settings.
    task_id = os.environ.get("TASK_ID", "").strip()
    attempt = os.environ.get("ATTEMPT", "").strip()
    if not task_id or not attempt.isdigit():
        print("error: TASK_ID and ATTEMPT (a number) must be set", file=sys.stderr)
        return 2
    try:
        outcome = run_adopted(task_id, int(attempt), Engine(), services())
    except Exception as exc:  # transient: lease released by run_attempt; the watch relaunches
        print(f"{task_id}: transient failure: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        metrics.flush_metrics()  # the EMF blob a Lambda decorator would print (stdout → logs)
    print(f"{task_id}: {outcome}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
