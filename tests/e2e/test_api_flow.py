"""The HTTP contract end to end over real HTTP (endpoint-agnostic: local stack or LocalStack)."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.e2e.api_calls import call

pytestmark = pytest.mark.e2e

BODY = {"strategy": "volume_zone_breakout", "params": {"volume_window": 20},
        "symbols": ["BTC_KRW", "ETH_KRW"], "start_date": "2024-01-01",
        "end_date": "2025-12-31", "timeframe": "1h"}


def bearer(sub: str) -> dict[str, str]:
    """An unsigned token: the local stack decodes claims without verifying (local only)."""
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return {"authorization": f"Bearer {part({'alg': 'none'})}.{part({'sub': sub})}.x"}


def wait_terminal(api_url: str, task_id: str, deadline_s: float = 120) -> list[dict]:
    """Poll status (honouring Retry-After, capped for the test) until terminal; all views."""
    views: list[dict] = []
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        status, headers, view = call(api_url, "GET", f"/api/backtests/status/{task_id}")
        assert status == 200, view
        views.append(view)
        if view["status"] in ("completed", "failed", "cancelled"):
            assert "retry-after" not in headers
            return views
        assert int(headers["retry-after"]) >= 1
        time.sleep(0.05)  # poll pacing, not a wait for a condition: the deadline bounds it
    raise AssertionError(f"task {task_id} not terminal after {deadline_s}s: {views[-1]}")


def test_given_a_submitted_backtest_then_progress_is_monotonic_and_the_result_is_served(api_url):
    status, _, created = call(api_url, "POST", "/api/backtests/run-async", BODY)
    assert status == 200 and created["status"] == "queued"
    views = wait_terminal(api_url, created["task_id"])
    final = views[-1]
    assert final["status"] == "completed", final
    progress = [v["progress"] for v in views]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert final["symbols_done"] == final["symbols_total"] == 2
    status, _, result = call(api_url, "GET", f"/api/backtests/{created['task_id']}")
    assert status == 200
    # the status inlines the result up to INLINE_DOWNLOAD_MAX_BYTES (trade logs make it bigger)
    assert final["result"] in (None, result)
    assert final["result"] is not None or final["result_url"]
    assert result["version"] == "1.3.0" and result["timeframe"] == "1h"
    assert result["params"] == BODY["params"]
    assert {s["symbol"] for s in result["symbols"]} == {"BTC_KRW", "ETH_KRW"}
    for symbol in result["symbols"]:
        assert symbol["data"]["rows"] == 2 * 365 * 24 + 24  # 2024 is a leap year
        assert symbol["data"]["first"].startswith("2024-01-01T00:00:00")
    status, _, again = call(api_url, "DELETE", f"/api/backtests/tasks/{created['task_id']}")
    assert status == 400 and again["detail"].startswith("Cannot cancel completed task.")


def test_given_bad_input_then_4xx_with_the_field(api_url):
    status, _, body = call(api_url, "POST", "/api/backtests/run-async",
                           {**BODY, "params": {"volume_window": 0}})
    assert status == 422 and body["detail"][0]["loc"] == ["body", "params", "volume_window"]
    status, _, body = call(api_url, "GET", "/api/backtests/status/no-such-task")
    assert (status, body) == (404, {"detail": "Task not found: no-such-task"})


def test_given_an_idempotency_key_then_one_task_and_409_on_another_body(api_url):
    key = {"idempotency-key": f"e2e-{time.time_ns()}"}
    first = call(api_url, "POST", "/api/backtests/run-async", BODY, key)
    second = call(api_url, "POST", "/api/backtests/run-async", BODY, key)
    assert first[0] == second[0] == 200 and first[2]["task_id"] == second[2]["task_id"]
    other = call(api_url, "POST", "/api/backtests/run-async", {**BODY, "timeframe": "1d"}, key)
    assert other[0] == 409


def test_given_two_owners_then_each_sees_only_their_own_tasks(api_url):
    status, _, created = call(api_url, "POST", "/api/backtests/run-async", BODY, bearer("carol"))
    assert status == 200
    task_id = created["task_id"]
    assert call(api_url, "GET", f"/api/backtests/status/{task_id}", None, bearer("carol"))[0] == 200
    assert call(api_url, "GET", f"/api/backtests/status/{task_id}", None, bearer("dave"))[0] == 404
    _, _, page = call(api_url, "GET", "/api/backtests/history?limit=100", None, bearer("dave"))
    assert task_id not in {item["task_id"] for item in page["items"]}
    _, _, page = call(api_url, "GET", "/api/backtests/history?limit=5", None, bearer("carol"))
    assert page["items"][0]["task_id"] == task_id


def test_given_a_small_sync_run_then_the_document_and_a_large_one_is_413(api_url):
    small = {**BODY, "symbols": ["BTC_KRW"], "timeframe": "1d", "end_date": "2024-03-31"}
    status, _, doc = call(api_url, "POST", "/api/backtests/run", small)
    assert status == 200 and doc["version"] == "1.3.0" and doc["symbols"][0]["data"]["rows"] == 91
    huge = {**BODY, "timeframe": "1m", "symbols": ["BTC_KRW", "ETH_KRW"]}
    status, _, body = call(api_url, "POST", "/api/backtests/run", huge)
    assert status == 413
    assert body["detail"] == ("Backtest too large for a synchronous run; "
                              "use /api/backtests/run-async")
