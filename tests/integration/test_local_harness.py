"""The local harness in-process on free ports, with a tiny template and fake handlers.

Proves, independent of the real functions: SQS redelivery after the (overridden)
visibility timeout, moto's redrive to the DLQ after maxReceiveCount receives, the DLQ
handler being invoked; the API Gateway v2.0 event the HTTP adapter builds; 404 for an
unknown route; CORS preflight; keep-alive latency.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local.stack import RunningStack, StackConfig, start_stack

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: test}
Globals:
  Function:
    Handler: app.lambda_handler
    Timeout: 5
    Environment:
      Variables:
        WORK_QUEUE_URL: !Ref WorkQueue
        STAGE: !Sub "harness-${Stage}"
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: ["https://app.test"]
        AllowMethods: [GET, POST]
        AllowHeaders: [content-type, authorization]
        ExposeHeaders: [x-route]
        MaxAge: 60
  DeadQueue:
    Type: AWS::SQS::Queue
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 3600
      RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadQueue.Arn, maxReceiveCount: 2}
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/echo
      Events:
        Item: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: "/api/items/{item_id}", Method: GET}}
        Special: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /api/items/special, Method: GET}}
        Post: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /api/echo, Method: POST}}
        Binary: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /api/binary, Method: GET}}
  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/worker
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt WorkQueue.Arn
            BatchSize: 1
            FunctionResponseTypes: [ReportBatchItemFailures]
  DeadFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/dead
      Events:
        Dead:
          Type: SQS
          Properties:
            Queue: !GetAtt DeadQueue.Arn
            FunctionResponseTypes: [ReportBatchItemFailures]
"""

ECHO = '''
import base64, json, os
STAGE_AT_COLD_START = os.environ["STAGE"]

def lambda_handler(event, context):
    if event["rawPath"] == "/api/binary":
        return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
                "body": base64.b64encode(b"\\x00\\x01\\xff").decode(), "isBase64Encoded": True}
    body = {"event": event, "stage": STAGE_AT_COLD_START,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "function_name": context.function_name}
    return {"statusCode": 200, "headers": {"content-type": "application/json",
            "x-route": event["routeKey"]}, "cookies": ["a=1"], "body": json.dumps(body)}
'''

WORKER = '''
CALLS = []  # (body, ApproximateReceiveCount) per delivery

def lambda_handler(event, context):
    failures = []
    for record in event["Records"]:
        CALLS.append((record["body"], int(record["attributes"]["ApproximateReceiveCount"])))
        if record["body"].startswith("raise"):
            raise RuntimeError("transient error, SQS will retry")
        if record["body"].startswith("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
'''

DEAD = '''
CALLS = []  # records seen by the DLQ handler

def lambda_handler(event, context):
    CALLS.extend(event["Records"])
    return {"batchItemFailures": []}
'''


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    root = tmp_path_factory.mktemp("harness")
    (root / "template.yaml").write_text(TEMPLATE)
    for name, code in {"echo": ECHO, "worker": WORKER, "dead": DEAD}.items():
        (root / "fns" / name).mkdir(parents=True)
        (root / "fns" / name / "app.py").write_text(code)
    saved_env = dict(os.environ)
    running = start_stack(StackConfig(template=root / "template.yaml", port=0, workers=2,
                                      visibility_timeout_s=1, seed_demo=False))
    try:
        yield running
    finally:
        running.stop()
        os.environ.clear()
        os.environ.update(saved_env)


def handler_calls(stack: RunningStack, logical_id: str) -> list[Any]:
    return stack.functions[logical_id].handler.__globals__["CALLS"]


def wait_until(condition: Callable[[], bool], deadline_s: float, what: str) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)  # poll interval of a deadline loop
    pytest.fail(f"not within {deadline_s} s: {what}")


def request(stack: RunningStack, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(stack.api.server_address[0], stack.api.server_address[1],
                                      timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def jwt(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_given_reported_failure_when_visibility_expires_then_redelivered_and_dead_lettered(
    stack: RunningStack,
) -> None:
    sqs = stack.emulation.client("sqs")
    work_url = stack.emulation.queue_urls["WorkQueue"]

    sqs.send_message(QueueUrl=work_url, MessageBody="fail-1")  # type: ignore[attr-defined]

    dead = handler_calls(stack, "DeadFunction")
    wait_until(lambda: any(r["body"] == "fail-1" for r in dead), 20, "fail-1 reaches the DLQ")
    receives = [count for body, count in handler_calls(stack, "WorkerFunction")
                if body == "fail-1"]
    assert receives == [1, 2]  # maxReceiveCount 2: delivered twice, then moved by moto
    record = next(r for r in dead if r["body"] == "fail-1")
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.emulation.model.queue("DeadQueue").arn
    assert {"messageId", "receiptHandle", "md5OfBody", "awsRegion", "attributes"} <= set(record)


def test_given_handler_raises_when_polled_then_whole_batch_is_retried_then_dead_lettered(
    stack: RunningStack,
) -> None:
    sqs = stack.emulation.client("sqs")

    sqs.send_message(QueueUrl=stack.emulation.queue_urls["WorkQueue"],  # type: ignore[attr-defined]
                     MessageBody="raise-1")

    dead = handler_calls(stack, "DeadFunction")
    wait_until(lambda: any(r["body"] == "raise-1" for r in dead), 20, "raise-1 reaches the DLQ")
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

    calls = handler_calls(stack, "WorkerFunction")
    wait_until(lambda: any(b == "ok-1" for b, _ in calls), 10, "ok-1 delivered")
    # deleted, not merely in flight: an undeleted message counts as NotVisible
    wait_until(lambda: in_queue() == 0, 5, "ok-1 deleted")
    assert [c for b, c in calls if b == "ok-1"] == [1]


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
