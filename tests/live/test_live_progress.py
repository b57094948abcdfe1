"""Live progress (docs/live.md) over a real WebSocket against the local stack (make run's server)."""

from __future__ import annotations

import asyncio
import time

import boto3
import pytest

from tests.e2e.api_calls import call
from tests.e2e.test_api_flow import bearer
from tests.live.conftest import HEAVY_BODY, SMALL_BODY, LiveStack
from tests.live.live_client import assert_well_formed, subscribe

DAILY_BODY = {**SMALL_BODY, "symbols": ["BTC_KRW"], "timeframe": "1d",
              "start_date": "2024-01-01", "end_date": "2024-12-31"}


def submit(stack: LiveStack, body: dict, headers: dict | None = None) -> str:
    status, _, created = call(stack.api_url, "POST", "/api/backtests/run-async", body, headers)
    assert status == 200, created
    return created["task_id"]


def connections_for(stack: LiveStack, task_id: str) -> list[dict]:
    ddb = boto3.client("dynamodb", endpoint_url=stack.aws_endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    table = next(t for t in ddb.list_tables()["TableNames"] if "ConnectionsTable" in t)
    items = ddb.scan(TableName=table)["Items"]
    return [i for i in items if i["task_id"]["S"] == task_id]


def wait_until(predicate, deadline_s: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)  # poll pacing of a deadline loop
    raise AssertionError(f"{what} not reached within {deadline_s} s")


def test_given_20_subscribers_to_one_task_then_each_sees_the_whole_run_in_order(live_stack):
    task_id = submit(live_stack, {**HEAVY_BODY, "end_date": "2024-03-31"})

    async def main():
        return await asyncio.gather(*(subscribe(live_stack.ws_url, task_id)
                                      for _ in range(20)))

    subs = asyncio.run(main())
    for sub in subs:
        assert_well_formed(sub, "completed")
        last = sub.messages[-1]
        assert (last["progress"], last["stage"]) == (1.0, "completed")
        assert last["result_url"] == f"/api/backtests/{task_id}"
        assert last["symbols_done"] == last["symbols_total"] == 1
    # the run wrote several progress steps; subscribers that joined early saw them
    assert max(len(s.messages) for s in subs) >= 3, [len(s.messages) for s in subs]
    assert wait_until(lambda: not connections_for(live_stack, task_id), what="cleanup")


def test_given_50_tasks_with_one_subscriber_each_then_every_one_ends_completed(live_stack):
    task_ids = [submit(live_stack, DAILY_BODY) for _ in range(50)]

    async def main():
        return await asyncio.gather(*(subscribe(live_stack.ws_url, t, timeout_s=180)
                                      for t in task_ids))

    for task_id, sub in zip(task_ids, asyncio.run(main()), strict=True):
        assert_well_formed(sub, "completed")
        assert {m["task_id"] for m in sub.messages} == {task_id}


def test_given_a_cancelled_task_then_cancelled_is_the_last_message(live_stack):
    task_id = submit(live_stack, HEAVY_BODY)

    async def main():
        watcher = asyncio.create_task(subscribe(live_stack.ws_url, task_id))
        await asyncio.to_thread(wait_until, lambda: connections_for(live_stack, task_id),
                                what="subscription stored")
        status, _, body = await asyncio.to_thread(call, live_stack.api_url, "DELETE",
                                                  f"/api/backtests/tasks/{task_id}")
        assert status == 200, body
        return await watcher

    sub = asyncio.run(main())
    assert_well_formed(sub, "cancelled")
    assert sub.messages[-1]["error"] == "Task cancelled by user"


def test_given_an_unknown_or_foreign_task_then_close_4404(live_stack):
    sub = asyncio.run(subscribe(live_stack.ws_url, "no-such-task"))
    assert (sub.messages, sub.close_code, sub.close_reason) == (
        [], 4404, "Task not found: no-such-task")
    task_id = submit(live_stack, DAILY_BODY, bearer("alice"))
    token = bearer("mallory")["authorization"].split(" ", 1)[1]
    sub = asyncio.run(subscribe(live_stack.ws_url, task_id, query=f"token={token}"))
    assert (sub.close_code, sub.close_reason) == (4404, f"Task not found: {task_id}")
    alice = bearer("alice")["authorization"].split(" ", 1)[1]
    sub = asyncio.run(subscribe(live_stack.ws_url, task_id, query=f"token={alice}"))
    assert_well_formed(sub, "completed")


@pytest.mark.parametrize("how", ["close", "drop"])
def test_given_a_client_that_leaves_mid_run_then_its_connection_is_deleted(live_stack, how):
    from websockets.sync.client import connect

    task_id = submit(live_stack, HEAVY_BODY)
    with connect(f"{live_stack.ws_url}/ws/backtest/{task_id}") as ws:
        first = ws.recv(timeout=20)
        assert '"seq": 1' in first
        assert len(connections_for(live_stack, task_id)) == 1
        assert ws.ping().wait(10), "no pong: the server does not read the client's frames"
        if how == "close":
            ws.close()
        else:  # the TCP connection just goes away, no close frame
            ws.socket.close()
    wait_until(lambda: not connections_for(live_stack, task_id), what="connection deleted")
    status, _, view = call(live_stack.api_url, "GET", f"/api/backtests/status/{task_id}")
    assert view["status"] in ("queued", "running"), "the run ended before the check"
    call(live_stack.api_url, "DELETE", f"/api/backtests/tasks/{task_id}")


def test_given_a_token_without_a_usable_sub_then_the_upgrade_is_refused_with_401(live_stack):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    task_id = submit(live_stack, DAILY_BODY)
    token = bearer("")["authorization"].split(" ", 1)[1]
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{live_stack.ws_url}/ws/backtest/{task_id}?token={token}")
    assert refused.value.response.status_code == 401
