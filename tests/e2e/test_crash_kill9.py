"""kill -9 of the whole local stack at random moments never loses or rewrites a task
(docs/local.md, "Durable local state"): every submit answered 200 still exists after a
restart, a task seen ``completed`` stays completed with the same finish time and result,
and tasks caught running resume and complete.

``CRASH_ROUNDS`` (20) rounds on the same state directory, alternating: a start killed at
a random moment of its own start-up (snapshot load, journal replay, re-sends: the kill
lands in recovery), and a start that becomes healthy, is checked against what the client
was told, takes submits and status reads and is killed at a random moment. The HTTP
sandboxes start cold (``LOCAL_WARM_API=0``): the test is about state, not latency.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from infra.local.process import StackProcess
from tests.e2e.api_calls import call
from tests.e2e.test_api_flow import wait_terminal

pytestmark = pytest.mark.skipif(bool(os.environ.get("API_URL")),
                                reason="needs the local stack (it kills it)")
ROUNDS = int(os.environ.get("CRASH_ROUNDS") or 20)
STARTUP_DEADLINE_S = 60.0
SUBMITS_PER_ROUND = 4  # then status reads until the kill: tasks run, complete, are read
BODY = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"],
        "start_date": "2024-01-01", "end_date": "2024-12-31", "timeframe": "1d"}


def _kill(stack: StackProcess) -> None:
    os.killpg(stack.proc.pid, signal.SIGKILL)
    stack.proc.wait()


def _check_told(api_url: str, acknowledged: set[str],
                completed: dict[str, dict[str, Any]]) -> None:
    for task_id in sorted(acknowledged):
        status, _, view = call(api_url, "GET", f"/api/backtests/status/{task_id}")
        assert status == 200, f"acknowledged task {task_id} lost: {view}"
        if task_id in completed:
            assert view["status"] == "completed", (task_id, view)
            assert view["finished_at"] == completed[task_id]["finished_at"], (task_id, view)
            status, _, result = call(api_url, "GET", f"/api/backtests/{task_id}")
            assert status == 200 and result == completed[task_id]["result"], task_id


def test_given_random_kill_9_of_the_whole_stack_when_restarted_then_every_task_is_as_told(
    tmp_path: Path,
) -> None:
    rng = random.Random(int(os.environ.get("CRASH_SEED") or 18))
    env = {"LOCAL_STATE_DIR": str(tmp_path / "state"), "WORKERS": "2", "LOCAL_WARM_API": "0"}
    acknowledged: set[str] = set()
    completed: dict[str, dict[str, Any]] = {}
    for round_no in range(ROUNDS):
        stack = StackProcess(tmp_path / f"round-{round_no}.log", **env)
        try:
            if round_no % 2:  # killed at a random moment of its start (recovery included)
                time.sleep(rng.uniform(0.3, 4.0))  # the moment of the kill, not a wait
                assert stack.proc.poll() is None, stack.tail()
                continue
            stack.wait_healthy(STARTUP_DEADLINE_S)
            _check_told(stack.api_url, acknowledged, completed)
            kill_at, submitted = time.monotonic() + rng.uniform(0.2, 3.0), 0
            while time.monotonic() < kill_at:
                if submitted < SUBMITS_PER_ROUND:
                    submitted += 1
                    status, _, created = call(stack.api_url, "POST",
                                              "/api/backtests/run-async", BODY)
                    if status == 200:
                        acknowledged.add(created["task_id"])
                for task_id in sorted(acknowledged - set(completed)):
                    status, _, view = call(stack.api_url, "GET",
                                           f"/api/backtests/status/{task_id}")
                    if status == 200 and view["status"] == "completed":
                        _, _, result = call(stack.api_url, "GET", f"/api/backtests/{task_id}")
                        completed[task_id] = {"finished_at": view["finished_at"],
                                              "result": result}
        finally:
            _kill(stack)
    print(f"{len(acknowledged)} acknowledged, {len(completed)} seen completed")
    stack = StackProcess(tmp_path / "final.log", **env)
    try:
        stack.wait_healthy(STARTUP_DEADLINE_S)
        _check_told(stack.api_url, acknowledged, completed)
        for task_id in sorted(acknowledged):  # caught queued or running: resumed, completed
            assert wait_terminal(stack.api_url, task_id)[-1]["status"] == "completed", task_id
        _check_told(stack.api_url, acknowledged, completed)
    finally:
        code, _ = stack.stop()
    assert acknowledged and code == 0, stack.tail()
