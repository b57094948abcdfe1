"""The local stack as `make run` runs it (a subprocess): every HTTP function has a warm
sandbox before the first request, and SIGTERM (to the stack, or to its whole process
group) or Ctrl-C (SIGINT to the group) stops it with exit 0, one "stopped" line, no
traceback, and no sandbox left behind. Three rounds, since the old failure was "sometimes"."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from infra.local.process import StackProcess
from tests.e2e.conftest import STARTUP_DEADLINE_S, STOP_DEADLINE_S

BODY = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"], "start_date": "2024-01-01",
        "end_date": "2024-03-31", "timeframe": "1d"}
API_FUNCTIONS = ("SubmitFunction", "StatusFunction", "HistoryFunction", "ResultsFunction",
                 "CancelFunction", "RunSyncFunction", "DataFunction", "StrategiesFunction",
                 "DocsFunction")
ROUNDS = [("SIGTERM", "stack"), ("SIGTERM", "group"), ("SIGINT", "group")]


def _submit(api_url: str) -> int:
    request = urllib.request.Request(f"{api_url}/api/backtests/run-async",
                                     data=json.dumps(BODY).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return reply.status


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(bool(os.environ.get("API_URL")), reason="starts its own local stack")
@pytest.mark.parametrize(("signal_name", "target"), ROUNDS)
def test_given_a_started_stack_when_signalled_then_warm_first_submit_and_a_clean_exit(
    tmp_path: Path, signal_name: str, target: str
) -> None:
    stack = StackProcess(tmp_path / "stack.log")
    try:
        stack.wait_healthy(STARTUP_DEADLINE_S)
        log = stack.log_path.read_text()
        warm = dict(re.findall(r"warm (\w+): sandbox pid (\d+) ready", log))
        assert set(API_FUNCTIONS) <= set(warm), log

        assert _submit(stack.api_url) == 200
        log = stack.log_path.read_text()  # the submit was served by the warmed sandbox
        assert log.count("cold start SubmitFunction") == 1, log

        signum = getattr(signal, signal_name)
        if target == "group":
            os.killpg(stack.proc.pid, signum)
        else:
            stack.proc.send_signal(signum)
        code = stack.proc.wait(STOP_DEADLINE_S)
    finally:
        stack.stop()
    log = stack.log_path.read_text()
    assert code == 0, log
    assert "Traceback" not in log and "Exception ignored" not in log, log
    assert len(re.findall(rf"stopped on {signal_name} in [0-9.]+ s", log)) == 1, log
    deadline = time.monotonic() + 5
    while not all(_gone(int(pid)) for pid in warm.values()) and time.monotonic() < deadline:
        time.sleep(0.05)  # poll interval of a deadline loop
    assert [pid for pid in warm.values() if not _gone(int(pid))] == []
