"""Local state survives a clean restart: tables and objects are saved under the state
directory at Ctrl-C/SIGTERM and reloaded at start; tasks left queued are re-sent."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from backtest_core.models import BacktestRequest
from backtest_core.repository import TaskRepository
from tests.e2e.api_calls import call
from tests.e2e.conftest import running_stack
from tests.e2e.test_api_flow import wait_terminal

pytestmark = pytest.mark.skipif(bool(os.environ.get("API_URL")),
                                reason="needs the local stack (it restarts it)")
BODY = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"],
        "start_date": "2024-01-01", "end_date": "2024-12-31", "timeframe": "1d"}


def _tasks(aws_endpoint: str) -> TaskRepository:
    ddb = boto3.client("dynamodb", endpoint_url=aws_endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    table = next(n for n in ddb.list_tables()["TableNames"] if "TasksTable" in n)
    return TaskRepository(ddb, table, ttl_hours=1)


def test_given_a_clean_stop_when_started_again_then_tasks_results_and_pending_work_remain(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    with running_stack(tmp_path / "first.log", LOCAL_STATE_DIR=str(state)) as first:
        _, _, created = call(first.api_url, "POST", "/api/backtests/run-async", BODY)
        done = wait_terminal(first.api_url, created["task_id"])[-1]
        assert done["status"] == "completed"
        # A task whose message never made it to the queue (pending work to re-create).
        _tasks(first.aws_endpoint).create("pending-1", "anonymous",
                                          BacktestRequest(**BODY), datetime.now(UTC))

    saved = json.loads((state / "tables" / "TasksTable.json").read_text())
    assert {item["task_id"]["S"] for item in saved} == {created["task_id"], "pending-1"}
    assert any(p.name == "1.json" for p in (state / "s3").rglob("*.json"))

    with running_stack(tmp_path / "second.log", LOCAL_STATE_DIR=str(state)) as second:
        status, _, again = call(second.api_url, "GET",
                                f"/api/backtests/status/{created['task_id']}")
        assert status == 200 and again["status"] == "completed"
        assert again["finished_at"] == done["finished_at"]
        status, _, result = call(second.api_url, "GET", f"/api/backtests/{created['task_id']}")
        assert status == 200 and result["symbols"], result
        assert done["result"] is None or result == done["result"]
        assert wait_terminal(second.api_url, "pending-1")[-1]["status"] == "completed"
    assert "state: re-sent 1 pending task(s)" in (tmp_path / "second.log").read_text()
