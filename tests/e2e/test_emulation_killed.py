"""A supervised emulation (docs/local.md, "Supervision"): kill -9 of the stack's moto
process mid-run. Health goes 503 with the reason, then back to 200 once a new moto process
has its state reloaded from the journal; the dead process is reaped; no request is
answered 500 while health is green on both sides of it; every acknowledged task is still
there and the one running at the kill completes exactly once (one result object); the
pollers log a few lines, not one per iteration. Without a state directory, and after
``MAX_RESTARTS`` restarts within a minute, the stack exits 1 with one line; SIGTERM with
the emulation dead (or restarting) exits 0 without a traceback.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.local.process import StackProcess
from infra.local.supervisor import MAX_RESTARTS
from tests.e2e.api_calls import call
from tests.e2e.conftest import running_stack

pytestmark = pytest.mark.skipif(bool(os.environ.get("API_URL")),
                                reason="needs the local stack (it kills its emulation)")
TERMINAL = ("completed", "failed", "cancelled")
HEAVY = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW", "ETH_KRW"],
         "start_date": "2024-01-01", "end_date": "2025-12-31", "timeframe": "1h"}
QUICK = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"],
         "start_date": "2024-01-01", "end_date": "2024-12-31", "timeframe": "1d"}
POLLER_LOGGERS = re.compile(r" (WARNING|ERROR|CRITICAL) +local\.(sqs|streams|schedule): ")


def moto_pid(stack: StackProcess) -> int | None:
    """The pid of this stack's live moto process (a child named infra.local.moto_process;
    a zombie has no command line)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if "infra.local.moto_process" in cmdline and ppid == stack.proc.pid:
            return int(proc.name)
    return None


def _process_state(pid: int) -> str | None:
    """``Z`` for a zombie, None once the process is gone (reaped)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _until(check: Callable[[], Any], deadline_s: float, what: str, stack: StackProcess) -> Any:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)  # poll interval of a deadline loop
    pytest.fail(f"not within {deadline_s:.0f} s: {what}\n{stack.tail(80)}")


def _health(stack: StackProcess) -> tuple[int, Any]:
    status, _, body = call(stack.api_url, "GET", "/api/health")
    return status, body


def _status(stack: StackProcess, task_id: str) -> dict:
    status, _, view = call(stack.api_url, "GET", f"/api/backtests/status/{task_id}")
    assert status == 200, f"acknowledged task {task_id}: {status} {view}"
    return view


def _result_keys(stack: StackProcess, task_id: str) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=stack.aws_endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"])
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"results/{task_id}/")
    return [o["Key"] for o in listing.get("Contents", []) if "/units/" not in o["Key"]]


def test_given_a_running_task_when_the_emulation_is_killed_then_health_is_503_until_it_is_restarted_and_no_task_is_lost(  # noqa: E501
    tmp_path: Path,
) -> None:
    env = {"LOCAL_STATE_DIR": str(tmp_path / "state"), "WORKERS": "1",
           "LOCAL_SCHEDULE_RATE_S": "1", "LOCAL_WORKER_NICE": "0"}
    with running_stack(tmp_path / "stack.log", **env) as stack:
        acknowledged = []
        for body in (HEAVY, QUICK, QUICK):
            status, _, created = call(stack.api_url, "POST", "/api/backtests/run-async", body)
            assert status == 200, created
            acknowledged.append(created["task_id"])
        heavy = acknowledged[0]
        _until(lambda: _status(stack, heavy)["status"] == "running", 60, "the run starts", stack)
        victim = moto_pid(stack)
        assert victim is not None, stack.tail()
        os.kill(victim, signal.SIGKILL)

        down = _until(lambda: (h := _health(stack))[0] == 503 and h[1], 10,
                      "health reports the dead emulation", stack)
        assert down["status"] == "degraded", down
        assert "emulation" in down["components"] and "SIGKILL" in down["detail"], down
        assert str(victim) in down["components"]["emulation"]["detail"], down

        hidden_500s: list[str] = []

        def probe() -> bool:
            """health, a status read, health: a 500 between two green healths is a lie."""
            before, _ = _health(stack)
            status, _, view = call(stack.api_url, "GET", f"/api/backtests/status/{heavy}")
            after, _ = _health(stack)
            if status == 500 and before == after == 200:
                hidden_500s.append(str(view))
            assert status in (200, 503), (status, view)
            return before == after == 200 and status == 200

        _until(probe, 60, "health is green again and the API answers", stack)
        assert _process_state(victim) is None, "the killed moto process was not reaped"
        restarted = moto_pid(stack)
        assert restarted is not None and restarted != victim

        status, _, late = call(stack.api_url, "POST", "/api/backtests/run-async", QUICK)
        assert status == 200, late
        acknowledged.append(late["task_id"])
        for task_id in acknowledged:  # every acknowledged task is there and finishes
            view = _until(lambda t=task_id: (v := _status(stack, t))["status"] in TERMINAL
                          and v, 150, f"{task_id} reaches a terminal state", stack)
            assert view["status"] == "completed", view
            assert len(_result_keys(stack, task_id)) == 1, _result_keys(stack, task_id)
        for _ in range(3):
            _until(probe, 5, "the API stays green", stack)
        assert not hidden_500s, hidden_500s
        assert _status(stack, heavy)["status"] == "completed"
        poller_lines = [line for line in stack.log_path.read_text(errors="replace").splitlines()
                        if POLLER_LOGGERS.search(line)]
        assert 0 < len(poller_lines) <= 12, "\n".join(poller_lines)


def test_given_no_state_dir_when_the_emulation_is_killed_then_the_stack_exits_1_with_one_line(
    tmp_path: Path,
) -> None:
    stack = StackProcess(tmp_path / "stack.log")  # LOCAL_STATE_DIR=""
    try:
        stack.wait_healthy(60)
        victim = moto_pid(stack)
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        code = stack.proc.wait(timeout=30)
    finally:
        stack.stop()
    log = stack.log_path.read_text(errors="replace")
    assert code == 1, log
    lines = [line for line in log.splitlines() if "local stack exits:" in line]
    assert len(lines) == 1 and "LOCAL_STATE_DIR is empty" in lines[0], log
    assert "Traceback" not in log, log


def test_given_a_state_dir_when_the_emulation_dies_more_often_than_the_limit_then_the_stack_exits_1(  # noqa: E501
    tmp_path: Path,
) -> None:
    stack = StackProcess(tmp_path / "stack.log", LOCAL_STATE_DIR=str(tmp_path / "state"))
    try:
        stack.wait_healthy(60)
        for _ in range(MAX_RESTARTS):
            victim = _until(lambda: moto_pid(stack), 30, "a live moto process", stack)
            os.kill(victim, signal.SIGKILL)
            _until(lambda v=victim: (p := moto_pid(stack)) and p != v and _health(stack)[0] == 200,
                   60, "the emulation restarted", stack)
        os.kill(_until(lambda: moto_pid(stack), 30, "a live moto process", stack),
                signal.SIGKILL)
        code = stack.proc.wait(timeout=30)
    finally:
        stack.stop()
    log = stack.log_path.read_text(errors="replace")
    assert code == 1, log
    lines = [line for line in log.splitlines() if "local stack exits:" in line]
    assert len(lines) == 1 and f"after {MAX_RESTARTS} restart(s)" in lines[0], log
    assert "Traceback" not in log, log


@pytest.mark.parametrize("moment_s", [0.0, 1.5])
def test_given_a_dead_emulation_when_the_stack_gets_sigterm_then_it_exits_0_without_a_traceback(
    tmp_path: Path, moment_s: float,
) -> None:
    """SIGTERM right after the kill (before the restart) and during the restart."""
    stack = StackProcess(tmp_path / "stack.log", LOCAL_STATE_DIR=str(tmp_path / "state"))
    try:
        stack.wait_healthy(60)
        victim = moto_pid(stack)
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        time.sleep(moment_s)  # the moment of the Ctrl-C under test, not a wait for an outcome
        code, in_time = stack.stop(30)
    finally:
        stack.stop()
    log = stack.log_path.read_text(errors="replace")
    assert (code, in_time) == (0, True), log
    assert "Traceback" not in log and "stopped" in log, log
