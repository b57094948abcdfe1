"""Long runs through the local Fargate stand-in, over real HTTP.

A stack of its own (``FARGATE_MIN_CANDLES=1``: every run is "long") on free ports: the worker
claims the submitted task, starts ``infra/fargate/entry.py`` as a subprocess with TASK_ID and
ATTEMPT, and that process adopts the attempt and completes it in moto.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.api_calls import call
from tests.e2e.conftest import running_stack

RUN_DEADLINE_S = 60.0
BODY = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"],
        "start_date": "2024-01-01", "end_date": "2024-12-31", "timeframe": "1d"}

pytestmark = pytest.mark.skipif(bool(os.environ.get("API_URL")),
                                reason="needs the local stack (API_URL targets another one)")


def _log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else "(no log)"


@pytest.fixture(scope="module")
def fargate_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    log_path = tmp_path_factory.mktemp("fargate-stack") / "stack.log"
    with running_stack(log_path, WORKERS="1", LOCAL_VISIBILITY_TIMEOUT="3",
                       FARGATE_MIN_CANDLES="1") as stack:
        yield stack.api_url, log_path


def test_given_fargate_routing_when_a_task_is_submitted_then_the_container_completes_it(
    fargate_stack,
):
    api_url, log_path = fargate_stack
    status, _, created = call(api_url, "POST", "/api/backtests/run-async", BODY)
    assert status == 200 and created["status"] == "queued", created
    task_id = created["task_id"]
    deadline = time.monotonic() + RUN_DEADLINE_S
    while True:
        status, _, view = call(api_url, "GET", f"/api/backtests/status/{task_id}")
        assert status == 200, view
        if view["status"] in ("completed", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, f"not terminal: {view}\n{_log(log_path)}"
        time.sleep(0.1)  # poll pacing inside a deadline loop
    assert view["status"] == "completed", f"{view}\n{_log(log_path)}"
    assert view["progress"] == 1.0 and view["result"]["symbols"][0]["symbol"] == "BTC_KRW"
    status, _, result = call(api_url, "GET", f"/api/backtests/{task_id}")
    assert status == 200 and result["run_id"] == task_id
    log = _log(log_path)
    assert f"fargate stand-in: task {task_id} attempt 1 started" in log  # not the Lambda path
    assert f"{task_id}: completed" in log  # the container's own last line
    assert "handed off to Fargate" in log
