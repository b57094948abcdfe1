"""The tiny template, fake handlers and in-process stack shared by test_local_harness.py
and test_local_sandboxes.py (fixture ``stack`` via conftest.py, one stack per module).

The fake handlers run in their sandboxes, so they record their calls in files
(``CALLS_DIR``), one JSON line per call; ``handler_calls`` reads them back.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import time
from collections.abc import Callable, Iterator
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
        CALLS_DIR: "@CALLS_DIR@"
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
  SlowFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/slow
      Timeout: 1
      ReservedConcurrentExecutions: 2
      Events:
        Slow: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /api/slow, Method: GET}}
        Pid: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /api/pid, Method: GET}}
  TickFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/tick
      Events:
        EveryMinute: {Type: Schedule, Properties: {Schedule: rate(1 minute)}}
"""

RECORD = '''
import json, os
def record(name, value):
    with open(os.path.join(os.environ["CALLS_DIR"], name + ".jsonl"), "a") as f:
        f.write(json.dumps(value) + "\\n")
'''

SLOW = RECORD + '''
import time
def lambda_handler(event, context):
    seconds = float((event.get("queryStringParameters") or {}).get("s", "0"))
    started = time.time()
    record("SlowFunction", {"pid": os.getpid(), "s": seconds})
    time.sleep(seconds)
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid(), "ppid": os.getppid(),
            "started": started, "ended": time.time()})}
'''

TICK = RECORD + '''
def lambda_handler(event, context):
    record("TickFunction", event)
'''

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

WORKER = RECORD + '''
import time

def lambda_handler(event, context):
    failures = []
    for r in event["Records"]:
        record("WorkerFunction", [r["body"], int(r["attributes"]["ApproximateReceiveCount"])])
        if r["body"].startswith("sleep"):
            time.sleep(float(r["body"].split("-")[1]))  # past the Timeout (5 s): killed
        if r["body"].startswith("raise"):
            raise RuntimeError("transient error, SQS will retry")
        if r["body"].startswith("fail"):
            failures.append({"itemIdentifier": r["messageId"]})
    return {"batchItemFailures": failures}
'''

DEAD = RECORD + '''
def lambda_handler(event, context):
    for r in event["Records"]:
        record("DeadFunction", r)
    return {"batchItemFailures": []}
'''


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    root = tmp_path_factory.mktemp("harness")
    (root / "calls").mkdir()
    (root / "template.yaml").write_text(TEMPLATE.replace("@CALLS_DIR@", str(root / "calls")))
    fns = {"echo": ECHO, "worker": WORKER, "dead": DEAD, "slow": SLOW, "tick": TICK}
    for name, code in fns.items():
        (root / "fns" / name).mkdir(parents=True)
        (root / "fns" / name / "app.py").write_text(code)
    saved_env = dict(os.environ)
    running = start_stack(StackConfig(template=root / "template.yaml", port=0, workers=2,
                                      visibility_timeout_s=1, seed_demo=False,
                                      schedule_rate_s=0.5, warm_api=False))
    running.calls_dir = root / "calls"  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        running.stop()
        os.environ.clear()
        os.environ.update(saved_env)


def handler_calls(stack: RunningStack, logical_id: str) -> list[Any]:
    """What the fake handler recorded so far, one item per call (read from its file)."""
    path = stack.calls_dir / f"{logical_id}.jsonl"  # type: ignore[attr-defined]
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("]")
            or line.endswith("}")]


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


