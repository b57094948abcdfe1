"""The HTTP contract of docs/api.md through the real handlers (in-process, moto behind them)."""

from __future__ import annotations

import concurrent.futures

import pytest

from backtest_core.models import QueueMessage

BODY = {"strategy": "volume_zone_breakout", "params": {"volume_window": "10"},
        "symbols": ["BTC_KRW"], "start_date": "2024-01-01", "end_date": "2024-06-30",
        "timeframe": "1d"}


def _queue_messages(aws) -> list[QueueMessage]:
    sqs = aws.client("sqs")
    resp = sqs.receive_message(QueueUrl=aws.env["JOBS_QUEUE_URL"], MaxNumberOfMessages=10)
    return [QueueMessage.model_validate_json(m["Body"]) for m in resp.get("Messages", [])]


def test_given_a_valid_body_when_submitted_then_200_queued_and_one_message(api, aws):
    reply = api.call("POST", "/api/backtests/run-async", BODY)
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "queued" and reply.body["created_at"].endswith("Z")
    assert [m.task_id for m in _queue_messages(aws)] == [reply.body["task_id"]]
    status = api.call("GET", f"/api/backtests/status/{reply.body['task_id']}")
    assert status.status == 200 and status.body["status"] == "queued"
    assert status.body["progress"] == 0 and status.body["symbols_total"] == 1
    assert status.headers["retry-after"] == "2"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"strategy": None}, ["body", "strategy"]),
        ({"start_date": "2024-13-01"}, ["body", "start_date"]),
        ({"end_date": "2023-12-31"}, ["body", "end_date"]),
        ({"strategy": "moon"}, ["body", "strategy"]),
        ({"params": {"volume_window": 0}}, ["body", "params", "volume_window"]),
        ({"params": {"volume_window": "ten"}}, ["body", "params", "volume_window"]),
        ({"params": {"colour": 1}}, ["body", "params", "colour"]),
        ({"symbols": []}, ["body", "symbols"]),
        ({"symbols": [f"S{i}_KRW" for i in range(51)]}, ["body", "symbols"]),
        ({"symbols": ["BTC-KRW-X"]}, ["body", "symbols", 0]),
        ({"symbols": "BTC_KRW"}, ["body", "symbols"]),
        ({"timeframe": "2d"}, ["body", "timeframe"]),
        ({"fee_bps": "cheap"}, ["body", "fee_bps"]),
        ({"surprise": 1}, ["body", "surprise"]),
    ],
)
def test_given_an_invalid_body_when_submitted_then_422_naming_the_field(api, aws, change, loc):
    body = {**BODY, **change}
    if change.get("strategy", "") is None:
        del body["strategy"]
    reply = api.call("POST", "/api/backtests/run-async", body)
    assert reply.status == 422, reply.body
    assert loc in [item["loc"] for item in reply.body["detail"]], reply.body
    assert all(set(item) == {"loc", "msg", "type"} for item in reply.body["detail"])
    assert _queue_messages(aws) == []


def test_given_start_after_end_then_the_message_is_the_specs(api):
    reply = api.call("POST", "/api/backtests/run-async", {**BODY, "end_date": "2023-01-01"})
    assert reply.body["detail"][0]["msg"] == "start_date must be before or equal to end_date"


def test_given_symbol_aliases_when_submitted_then_stored_canonical(api):
    reply = api.call("POST", "/api/backtests/run-async",
                     {**BODY, "symbols": ["KRW-BTC", "eth/krw"], "timeframe": "1D"})
    history = api.call("GET", "/api/backtests/history")
    item = history.body["items"][0]
    assert item["task_id"] == reply.body["task_id"]
    assert item["symbols"] == ["BTC_KRW", "ETH_KRW"] and item["timeframe"] == "1d"


def test_given_unknown_ids_then_404_with_the_specs_messages(api):
    assert api.call("GET", "/api/backtests/status/nope").body == {"detail": "Task not found: nope"}
    assert api.call("DELETE", "/api/backtests/tasks/nope").status == 404
    reply = api.call("GET", "/api/backtests/nope")
    assert (reply.status, reply.body) == (404, {"detail": "Backtest result not found: nope"})


def test_given_another_owners_task_then_404_everywhere(api):
    task_id = api.call("POST", "/api/backtests/run-async", BODY, token_sub="alice").body["task_id"]
    assert api.call("GET", f"/api/backtests/status/{task_id}", token_sub="alice").status == 200
    assert api.call("GET", f"/api/backtests/status/{task_id}", token_sub="bob").status == 404
    assert api.call("DELETE", f"/api/backtests/tasks/{task_id}", token_sub="bob").status == 404
    assert api.call("GET", "/api/backtests/history", token_sub="bob").body["items"] == []
    assert api.call("GET", f"/api/backtests/status/{task_id}").status == 404  # anonymous


def test_given_a_record_past_expires_at_then_404_although_moto_still_holds_it(api, aws):
    task_id = api.call("POST", "/api/backtests/run-async", BODY).body["task_id"]
    ddb = aws.client("dynamodb")
    ddb.update_item(TableName=aws.env["TASKS_TABLE"], Key={"task_id": {"S": task_id}},
                    UpdateExpression="SET expires_at = :past",
                    ExpressionAttributeValues={":past": {"N": "1000"}})
    assert "Item" in ddb.get_item(TableName=aws.env["TASKS_TABLE"], Key={"task_id": {"S": task_id}})
    assert api.call("GET", f"/api/backtests/status/{task_id}").status == 404
    assert api.call("DELETE", f"/api/backtests/tasks/{task_id}").status == 404
    assert api.call("GET", "/api/backtests/history").body["items"] == []


def test_given_a_queued_task_when_cancelled_twice_then_200_both_times(api):
    task_id = api.call("POST", "/api/backtests/run-async", BODY).body["task_id"]
    for _ in range(2):
        reply = api.call("DELETE", f"/api/backtests/tasks/{task_id}")
        assert reply.status == 200 and reply.body["status"] == "cancelled"
    status = api.call("GET", f"/api/backtests/status/{task_id}").body
    assert status["status"] == "cancelled" and status["error"] == "Task cancelled by user"
    assert "retry-after" not in api.call("GET", f"/api/backtests/status/{task_id}").headers


@pytest.mark.parametrize("terminal", ["completed", "failed"])
def test_given_a_finished_task_when_cancelled_then_400_with_the_exact_message(api, svc, terminal):
    task_id = api.call("POST", "/api/backtests/run-async", BODY).body["task_id"]
    record = svc.tasks.claim(task_id, svc.clock(), 60)
    if terminal == "completed":
        svc.tasks.complete(task_id, record.attempt, "results/x.json", {}, svc.clock())
    else:
        svc.tasks.fail(task_id, "boom", svc.clock())
    reply = api.call("DELETE", f"/api/backtests/tasks/{task_id}")
    assert reply.status == 400
    assert reply.body == {"detail": f"Cannot cancel {terminal} task. Only queued or running "
                                    "tasks can be cancelled."}


def test_given_the_same_idempotency_key_then_the_same_task_and_another_body_is_409(api, aws):
    headers = {"idempotency-key": "k-1"}
    first = api.call("POST", "/api/backtests/run-async", BODY, headers=headers)
    again = api.call("POST", "/api/backtests/run-async", BODY, headers=headers)
    assert first.status == again.status == 200
    assert first.body == again.body
    other = api.call("POST", "/api/backtests/run-async", {**BODY, "end_date": "2024-07-31"},
                     headers=headers)
    assert other.status == 409 and "different request body" in other.body["detail"]
    assert len(_queue_messages(aws)) == 1
    bob = api.call("POST", "/api/backtests/run-async", BODY, headers=headers, token_sub="bob")
    assert bob.status == 200 and bob.body["task_id"] != first.body["task_id"]


def test_given_50_concurrent_submits_then_50_distinct_tasks(api):
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(lambda _: api.call("POST", "/api/backtests/run-async", BODY),
                                range(50)))
    assert [r.status for r in replies] == [200] * 50
    ids = {r.body["task_id"] for r in replies}
    assert len(ids) == 50
    seen: set[str] = set()
    cursor = None
    while True:
        page = api.call("GET", "/api/backtests/history",
                        query=f"limit=20&cursor={cursor}" if cursor else "limit=20").body
        seen.update(item["task_id"] for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids


def test_given_history_filters_and_bad_queries(api):
    first = api.call("POST", "/api/backtests/run-async", BODY).body["task_id"]
    second = api.call("POST", "/api/backtests/run-async",
                      {**BODY, "strategy": "volume_long_candle", "params": {}}).body["task_id"]
    api.call("DELETE", f"/api/backtests/tasks/{first}")
    by_status = api.call("GET", "/api/backtests/history", query="status=cancelled").body
    assert [i["task_id"] for i in by_status["items"]] == [first]
    by_strategy = api.call("GET", "/api/backtests/history", query="strategy=volume_long_candle")
    assert [i["task_id"] for i in by_strategy.body["items"]] == [second]
    newest_first = api.call("GET", "/api/backtests/history").body["items"]
    assert [i["created_at"] for i in newest_first] == sorted(
        (i["created_at"] for i in newest_first), reverse=True)
    import base64
    import json

    foreign = base64.urlsafe_b64encode(json.dumps(
        {"task_id": {"S": "x"}, "owner": {"S": "mallory"}, "created_at": {"S": "2024"}}
    ).encode()).decode()
    half = base64.urlsafe_b64encode(b'{"task_id": {"S": "x"}}').decode()
    for bad in ("limit=0", "limit=101", "status=lost", "cursor=garbage", f"cursor={foreign}",
                f"cursor={half}", "strategy="):
        assert api.call("GET", "/api/backtests/history", query=bad).status == 422, bad


def test_given_an_unknown_strategy_filter_then_422_naming_the_known_ones(api):
    reply = api.call("GET", "/api/backtests/history", query="strategy=nope")

    assert reply.status == 422
    [error] = reply.body["detail"]
    assert error["loc"] == ["query", "strategy"]
    assert "'nope'" in error["msg"] and "volume_long_candle" in error["msg"]


def test_given_exactly_a_full_last_page_then_its_next_cursor_is_null(api):
    ids = {api.call("POST", "/api/backtests/run-async", BODY).body["task_id"] for _ in range(4)}

    first = api.call("GET", "/api/backtests/history", query="limit=2").body
    last = api.call("GET", "/api/backtests/history",
                    query=f"limit=2&cursor={first['next_cursor']}").body

    assert first["next_cursor"] is not None and last["next_cursor"] is None
    assert {i["task_id"] for i in first["items"] + last["items"]} == ids


def test_given_an_enqueue_failure_then_500_and_the_task_is_failed_not_queued(api, aws, monkeypatch):
    from backtest_core.queue import JobQueue

    def broken_send(self, message):
        raise RuntimeError("SQS is down")

    monkeypatch.setattr(JobQueue, "send", broken_send)
    reply = api.call("POST", "/api/backtests/run-async", BODY)
    assert reply.status == 500
    assert reply.body["detail"] == "Failed to enqueue backtest job: SQS is down"
    items = api.call("GET", "/api/backtests/history").body["items"]
    assert [i["status"] for i in items] == ["failed"]


def test_given_meta_routes_then_health_strategies_openapi_and_docs(api):
    health = api.call("GET", "/api/health")
    assert health.status == 200 and health.body["status"] == "ok"
    strategies = api.call("GET", "/api/strategies").body
    assert strategies["count"] == len(strategies["details"]) == 2
    assert set(strategies["strategies"]) == {"volume_zone_breakout", "volume_long_candle"}
    vzb = next(d for d in strategies["details"] if d["name"] == "volume_zone_breakout")
    assert vzb["defaults"]["volume_window"] == 10
    openapi = api.call("GET", "/api/openapi.json").body
    assert {"/api/backtests/run-async", "/api/backtests/status/{task_id}",
            "/api/backtests/history", "/api/backtests/run"} <= set(openapi["paths"])
    assert api.call("GET", "/api/nothing").body == {"detail": "Not Found"}  # via /{proxy+}
    put = api.call("PUT", "/api/health")  # a known path, another method
    assert (put.status, put.body, put.headers["allow"]) == (
        405, {"detail": "Method Not Allowed"}, "GET")
    docs = api.call("GET", "/api/docs")
    assert docs.status == 200 and "swagger" in str(docs.body).lower()


def test_given_a_numeric_string_param_when_submitted_then_the_task_keeps_the_number(api, svc):
    body = {**BODY, "strategy": "volume_zone_breakout", "params": {"volume_window": "20"}}
    reply = api.call("POST", "/api/backtests/run-async", body)

    assert reply.status == 200, reply.body
    record = svc.tasks.get(reply.body["task_id"], svc.clock())
    assert record.request.params == {"volume_window": 20}
