"""Regressions found by fuzzing the local stack (schemathesis + hand-made inputs).

Every bad input answers 4xx with the error body of docs/api.md, ``{"detail": ...}``, never a 500.
"""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError

from tests.inprocess_api import Reply

RUN_ROUTES = ["/api/backtests/run-async", "/api/backtests/run"]
BODY = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"],
        "start_date": "2024-01-01", "end_date": "2024-03-31"}


def _assert_422_items(reply: Reply, loc: list) -> None:
    assert reply.status == 422, reply.body
    assert set(reply.body) == {"detail"}
    assert all(set(item) == {"loc", "msg", "type"} for item in reply.body["detail"])
    assert loc in [item["loc"] for item in reply.body["detail"]], reply.body


def _post_as(api, path: str, body: bytes, content_type: str) -> Reply:
    """POST with exactly this content type (``api.call`` always adds application/json)."""
    from infra.local.apigw import build_event, lambda_response

    match = api._router.match("POST", path)
    event = build_event("POST", path, "", [("content-type", content_type)], body, match,
                        "127.0.0.1")
    if match.target not in api._loaded:
        api._loaded[match.target] = api._load(api._functions[match.target])
    status, headers, payload = lambda_response(api._loaded[match.target].invoke(event))
    return Reply(status, dict(headers), json.loads(payload))


@pytest.mark.parametrize("path", RUN_ROUTES)
@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe{}",  # not UTF-8: Powertools' decoded_body raised UnicodeDecodeError
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in json.loads
        b'{"params": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}",
        # ValueError: a 5000-digit integer exceeds Python's int/str conversion limit
        json.dumps(BODY)[:-1].encode() + b', "fee_bps": ' + b"9" * 5000 + b"}",
    ],
    ids=["not-utf8", "deep-array", "deep-object", "huge-int"],
)
def test_given_an_unreadable_json_body_when_posted_then_422_on_body_not_500(api, path, raw):
    reply = api.call("POST", path, raw)
    _assert_422_items(reply, ["body"])
    assert reply.body["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("path", RUN_ROUTES)
def test_given_a_non_utf8_body_when_posted_then_the_message_says_so(api, path):
    reply = api.call("POST", path, b"\x81\x94garbage")
    assert reply.body["detail"] == [
        {"loc": ["body"], "msg": "Request body is not valid UTF-8", "type": "json_invalid"}
    ]


@pytest.mark.parametrize("path", RUN_ROUTES)
@pytest.mark.parametrize(
    ("content_type", "item_type"),
    [("text/plain", "unsupported_content_type"), ("application/xml", "unsupported_content_type"),
     ("multipart/form-data", "json_invalid")],  # multipart without a boundary
)
def test_given_a_content_type_powertools_cannot_read_when_posted_then_422_not_500(
    api, path, content_type, item_type
):
    reply = _post_as(api, path, json.dumps(BODY).encode(), content_type)
    _assert_422_items(reply, ["body"])
    assert reply.body["detail"][0]["type"] == item_type


def test_given_text_plain_when_posted_then_the_message_names_the_content_type(api):
    reply = _post_as(api, "/api/backtests/run-async", b"{}", "text/plain")
    assert reply.body["detail"][0]["msg"] == "Unsupported content type: text/plain"


def test_given_a_valid_body_after_a_rejected_one_then_the_next_request_is_served(api):
    assert api.call("POST", "/api/backtests/run-async", b"\xff").status == 422
    reply = api.call("POST", "/api/backtests/run-async", BODY)
    assert reply.status == 200 and reply.body["status"] == "queued"


def test_given_a_route_raising_value_error_after_validation_then_still_500(api, monkeypatch):
    """The 422 mapping covers reading the request only, not bugs in the route."""
    from backtest_core.api import routes

    def broken(*_args, **_kwargs):
        raise ValueError("bug in the use case")

    monkeypatch.setattr(routes, "submit", broken)
    reply = api.call("POST", "/api/backtests/run-async", BODY)
    assert (reply.status, reply.body) == (500, {"detail": "Internal server error"})


@pytest.fixture
def dynamodb_key_rules(aws):
    """Real DynamoDB's key checks, which moto skips: a 400 ValidationException for a
    partition key over 2048 bytes or an empty key value (also in ExclusiveStartKey)."""
    from backtest_core import aws as aws_clients

    def check(params, **_):
        keys = [params.get("Key") or {}, params.get("ExclusiveStartKey") or {}]
        for key in keys:
            for value in key.values():
                text = value.get("S")
                if text is not None and not 0 < len(text.encode()) <= 2048:
                    raise ClientError({"Error": {"Code": "ValidationException",
                                                 "Message": "invalid key"}}, "DynamoDB")

    client = aws_clients.client("dynamodb")
    client.meta.events.register("before-parameter-build.dynamodb.*", check)
    yield
    client.meta.events.unregister("before-parameter-build.dynamodb.*", check)


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", "/api/backtests/status/{id}", "Task not found: {id}"),
        ("DELETE", "/api/backtests/tasks/{id}", "Task not found: {id}"),
        ("GET", "/api/backtests/{id}", "Backtest result not found: {id}"),
        ("GET", "/api/backtests/{id}/download", "Backtest result not found: {id}"),
    ],
)
def test_given_an_id_longer_than_a_dynamodb_key_when_read_then_404_not_500(
    api, dynamodb_key_rules, method, path, message
):
    task_id = "a" * 2049
    reply = api.call(method, path.format(id=task_id))
    assert (reply.status, reply.body) == (404, {"detail": message.format(id=task_id)})


def test_given_a_cursor_with_an_empty_key_value_when_listing_then_422_not_500(
    api, dynamodb_key_rules
):
    key = {"task_id": {"S": ""}, "owner": {"S": "anonymous"}, "created_at": {"S": ""}}
    cursor = base64.urlsafe_b64encode(json.dumps(key).encode()).decode()
    reply = api.call("GET", "/api/backtests/history", query=f"cursor={cursor}")
    assert (reply.status, reply.body) == (
        422, {"detail": [{"loc": ["query", "cursor"], "msg": "Invalid cursor",
                          "type": "value_error"}]})


def test_given_concurrent_valid_and_unreadable_bodies_then_every_unreadable_one_is_422(api):
    import concurrent.futures

    good = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"],
            "start_date": "2024-01-01", "end_date": "2024-01-31"}

    def one(i: int) -> tuple[bool, int]:
        bad = i % 2 == 1
        body = b"\xff\xfe" if bad else good
        return bad, api.call("POST", "/api/backtests/run-async", body).status

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(60)))
    assert {status for bad, status in results if bad} == {422}
    assert {status for bad, status in results if not bad} == {200}
