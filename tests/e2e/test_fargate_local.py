"""Long runs through the local Fargate stand-in, over real HTTP.

A stack of its own (``FARGATE_MIN_CANDLES=1``: every run is "long") on free ports: the worker
claims the submitted task, starts ``infra/fargate/entry.py`` as a subprocess with TASK_ID and
ATTEMPT, and that process adopts the attempt and completes it in moto.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE_S = 60.0
RUN_DEADLINE_S = 60.0
BODY = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"],
        "start_date": "2024-01-01", "end_date": "2024-12-31", "timeframe": "1d"}

pytestmark = pytest.mark.skipif(bool(os.environ.get("API_URL")),
                                reason="needs the local stack (API_URL targets another one)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(api_url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(api_url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    return status, json.loads(raw) if raw else None


def _log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else "(no log)"


@pytest.fixture(scope="module")
def fargate_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    log_path = tmp_path_factory.mktemp("fargate-stack") / "stack.log"
    port, moto_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("API_URL", "AWS_ENDPOINT_URL")}
    env.update(HOST="127.0.0.1", PORT=str(port), MOTO_PORT=str(moto_port), WORKERS="1",
               LOCAL_VISIBILITY_TIMEOUT="3", PYTHONUNBUFFERED="1", FARGATE_MIN_CANDLES="1")
    api_url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "infra.local.stack"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while True:
            assert proc.poll() is None, f"stack exited with {proc.returncode}:\n{_log(log_path)}"
            try:
                if _call(api_url, "GET", "/api/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"stack not healthy:\n{_log(log_path)}"
            time.sleep(0.05)  # poll pacing inside a deadline loop
        yield api_url, log_path
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, f"stack exited with {proc.returncode}:\n{_log(log_path)}"


def test_given_fargate_routing_when_a_task_is_submitted_then_the_container_completes_it(
    fargate_stack,
):
    api_url, log_path = fargate_stack
    status, created = _call(api_url, "POST", "/api/backtests/run-async", BODY)
    assert status == 200 and created["status"] == "queued", created
    task_id = created["task_id"]
    deadline = time.monotonic() + RUN_DEADLINE_S
    while True:
        status, view = _call(api_url, "GET", f"/api/backtests/status/{task_id}")
        assert status == 200, view
        if view["status"] in ("completed", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, f"not terminal: {view}\n{_log(log_path)}"
        time.sleep(0.1)  # poll pacing inside a deadline loop
    assert view["status"] == "completed", f"{view}\n{_log(log_path)}"
    assert view["progress"] == 1.0 and view["result"]["symbols"][0]["symbol"] == "BTC_KRW"
    status, result = _call(api_url, "GET", f"/api/backtests/{task_id}")
    assert status == 200 and result["run_id"] == task_id
    log = _log(log_path)
    assert f"fargate stand-in: task {task_id} attempt 1 started" in log  # not the Lambda path
    assert f"{task_id}: completed" in log  # the container's own last line
    assert "handed off to Fargate" in log
