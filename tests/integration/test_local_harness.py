"""The local harness in-process on free ports, with a tiny template and fake handlers.

Proves, independent of the real functions: SQS redelivery after the (overridden)
visibility timeout, moto's redrive to the DLQ after maxReceiveCount receives, the DLQ
handler being invoked; the API Gateway v2.0 event the HTTP adapter builds; 404 for an
unknown route; CORS preflight; keep-alive latency. Sandbox behaviour (own processes,
warm reuse, concurrency, Timeout, kill -9, schedules) is in test_local_sandboxes.py. The
template, handlers and the ``stack`` fixture are in harness_stack.py.
"""

from __future__ import annotations

import base64
import http.client
import json
import statistics
import time
from pathlib import Path
from typing import Any

from infra.local.stack import RunningStack
from tests.integration.harness_stack import handler_calls, jwt, request, wait_until


def test_given_reported_failure_when_visibility_expires_then_redelivered_and_dead_lettered(
    stack: RunningStack,
) -> None:
    sqs = stack.emulation.client("sqs")
    work_url = stack.emulation.queue_urls["WorkQueue"]

    sqs.send_message(QueueUrl=work_url, MessageBody="fail-1")  # type: ignore[attr-defined]

    def dead() -> list[Any]:
        return handler_calls(stack, "DeadFunction")

    wait_until(lambda: any(r["body"] == "fail-1" for r in dead()), 20, "fail-1 reaches the DLQ")
    receives = [count for body, count in handler_calls(stack, "WorkerFunction")
                if body == "fail-1"]
    assert receives == [1, 2]  # maxReceiveCount 2: delivered twice, then moved by moto
    record = next(r for r in dead() if r["body"] == "fail-1")
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.emulation.model.queue("DeadQueue").arn
    assert {"messageId", "receiptHandle", "md5OfBody", "awsRegion", "attributes"} <= set(record)


def test_given_handler_raises_when_polled_then_whole_batch_is_retried_then_dead_lettered(
    stack: RunningStack,
) -> None:
    sqs = stack.emulation.client("sqs")

    sqs.send_message(QueueUrl=stack.emulation.queue_urls["WorkQueue"],  # type: ignore[attr-defined]
                     MessageBody="raise-1")

    wait_until(lambda: any(r["body"] == "raise-1" for r in handler_calls(stack, "DeadFunction")),
               20, "raise-1 reaches the DLQ")
    receives = [c for b, c in handler_calls(stack, "WorkerFunction") if b == "raise-1"]
    assert receives == [1, 2]


def test_given_success_when_polled_then_message_deleted_and_not_redelivered(
    stack: RunningStack,
) -> None:
    sqs = stack.emulation.client("sqs")
    url = stack.emulation.queue_urls["WorkQueue"]

    sqs.send_message(QueueUrl=url, MessageBody="ok-1")  # type: ignore[attr-defined]

    def in_queue() -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)  # type: ignore[attr-defined]
        return sum(int(v) for v in attrs["Attributes"].values())

    def calls() -> list[Any]:
        return handler_calls(stack, "WorkerFunction")

    wait_until(lambda: any(b == "ok-1" for b, _ in calls()), 10, "ok-1 delivered")
    # deleted, not merely in flight: an undeleted message counts as NotVisible
    wait_until(lambda: in_queue() == 0, 5, "ok-1 deleted")
    assert [c for b, c in calls() if b == "ok-1"] == [1]


def test_given_route_params_query_headers_body_and_jwt_when_called_then_v2_event_is_correct(
    stack: RunningStack,
) -> None:
    token = jwt({"sub": "alice", "groups": ["a", "b"], "exp": 1700000000})

    status, headers, raw = request(
        stack, "POST", "/api/echo?limit=5&tag=x&tag=y",
        body=b'{"hello": "world"}',
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}",
                 "X-Custom": "Yes", "Cookie": "c1=v1; c2=v2"},
    )

    assert status == 200
    assert headers["x-route"] == "POST /api/echo"
    assert headers["set-cookie"] == "a=1"
    doc = json.loads(raw)
    event = doc["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /api/echo"
    assert event["rawPath"] == "/api/echo"
    assert event["rawQueryString"] == "limit=5&tag=x&tag=y"
    assert event["queryStringParameters"] == {"limit": "5", "tag": "x,y"}
    assert event["headers"]["x-custom"] == "Yes"
    assert event["headers"]["content-type"] == "application/json"
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["body"] == '{"hello": "world"}' and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["http"]["method"] == "POST" and ctx["http"]["path"] == "/api/echo"
    assert ctx["http"]["sourceIp"] == "127.0.0.1"
    assert ctx["stage"] == "$default" and ctx["routeKey"] == "POST /api/echo"
    assert {"requestId", "timeEpoch", "accountId", "apiId", "domainName"} <= set(ctx)
    assert ctx["authorizer"]["jwt"]["claims"] == {"sub": "alice", "groups": "[a b]",
                                                  "exp": "1700000000"}
    assert doc["stage"] == "harness-test"  # env from Globals, resolved !Sub, at cold start
    assert 0 < doc["remaining_ms"] <= 5000
    assert doc["function_name"].endswith("EchoFunction")


def test_given_literal_and_param_routes_when_matched_then_literal_wins(stack: RunningStack) -> None:
    _, _, special = request(stack, "GET", "/api/items/special")
    _, _, item = request(stack, "GET", "/api/items/a%20b")

    assert json.loads(special)["event"]["routeKey"] == "GET /api/items/special"
    assert "pathParameters" not in json.loads(special)["event"]
    item_event = json.loads(item)["event"]
    assert item_event["routeKey"] == "GET /api/items/{item_id}"
    assert item_event["pathParameters"] == {"item_id": "a b"}
    assert "authorizer" not in item_event["requestContext"]  # no bearer token, no authorizer


def test_given_binary_body_when_called_then_base64_both_ways(stack: RunningStack) -> None:
    status, _, raw = request(stack, "POST", "/api/echo", body=b"\x00\xff",
                             headers={"Content-Type": "application/octet-stream"})
    _, headers, binary = request(stack, "GET", "/api/binary")

    event = json.loads(raw)["event"]
    assert status == 200 and event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xff"
    assert binary == b"\x00\x01\xff" and headers["content-type"] == "application/octet-stream"


def test_given_unknown_route_or_method_when_called_then_api_gateways_own_404(
    stack: RunningStack,
) -> None:
    # No catch-all route in this test template: API Gateway answers by itself.
    assert request(stack, "GET", "/api/nothing")[::2] == (404, b'{"message": "Not Found"}')
    assert request(stack, "DELETE", "/api/echo")[0] == 404


def test_given_malformed_bearer_token_when_called_then_401(stack: RunningStack) -> None:
    assert request(stack, "GET", "/api/items/1", headers={"Authorization": "Bearer x"})[0] == 401


def test_given_cors_config_when_preflight_then_answered_like_api_gateway(
    stack: RunningStack,
) -> None:
    status, headers, body = request(stack, "OPTIONS", "/api/echo", headers={
        "Origin": "https://app.test", "Access-Control-Request-Method": "POST"})
    _, simple, _ = request(stack, "GET", "/api/items/1", headers={"Origin": "https://app.test"})
    _, other, _ = request(stack, "GET", "/api/items/1", headers={"Origin": "https://evil.test"})

    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == "https://app.test"
    assert headers["access-control-allow-methods"] == "GET,POST"
    assert headers["access-control-max-age"] == "60"
    assert simple["access-control-allow-origin"] == "https://app.test"
    assert simple["access-control-expose-headers"] == "x-route"
    assert "access-control-allow-origin" not in other


def test_given_keep_alive_connection_when_requests_repeat_then_latency_is_low(
    stack: RunningStack,
) -> None:
    host, port = stack.api.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    durations = []
    try:
        for _ in range(20):
            started = time.perf_counter()
            conn.request("GET", "/api/items/1")
            resp = conn.getresponse()
            resp.read()
            durations.append(time.perf_counter() - started)
            assert resp.status == 200
        sock = conn.sock
        conn.request("GET", "/api/items/2")
        conn.getresponse().read()
        assert conn.sock is sock  # the same TCP connection served every request
    finally:
        conn.close()
    # Nagle + delayed ACK would make each ~40 ms; the adapter disables Nagle.
    assert statistics.median(durations) < 0.02, durations


def test_given_template_timeout_when_context_read_then_counts_down(tmp_path: Path) -> None:
    from infra.local.functions import LambdaContext
    from infra.local.template_model import FunctionSpec

    spec = FunctionSpec("F", "stack-F", tmp_path, "app.lambda_handler", {}, 3, 256)
    context = LambdaContext(spec, "us-east-1")

    assert 2900 <= context.get_remaining_time_in_millis() <= 3000
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:stack-F"
    assert context.memory_limit_in_mb == 256 and context.log_group_name == "/aws/lambda/stack-F"
