"""Fargate entry point for long runs: the worker's ``run_task`` path for one task id.

Reads ``TASK_ID`` plus the functions' settings (TASKS_TABLE, BUCKET, ...) from the
environment, runs that task exactly like the worker Lambda would (claim with lease,
heartbeat, progress, cancel checks, conditional completion) and exits 0 when the task
reached a terminal state or was skipped (already running elsewhere / terminal), 1 otherwise.
"""

from __future__ import annotations

import os
import sys

from backtest_core.models import QueueMessage
from backtest_core.services import services
from backtest_core.timeutil import iso, utc_now
from backtest_core.usecases.run_task import run_task
from backtest_engine.adapter import Engine


def main() -> int:
    task_id = os.environ.get("TASK_ID", "").strip()
    if not task_id:
        print("error: TASK_ID is not set", file=sys.stderr)
        return 2
    svc = services()
    record = svc.tasks.get(task_id, svc.clock())
    if record is None:
        print(f"error: Task not found: {task_id}", file=sys.stderr)
        return 1
    message = QueueMessage(task_id=task_id, owner=record.owner, enqueued_at=iso(utc_now()))
    outcome = run_task(message, Engine(), svc)
    print(f"{task_id}: {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
