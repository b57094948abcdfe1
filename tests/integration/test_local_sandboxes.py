"""Lambda-like sandboxes and the HTTP adapter's edges, on the tiny template of
harness_stack.py (its own stack, in-process, free ports).

Each function runs in its own processes (``sandbox <LogicalId>``), reused warm, at most its
concurrency at once, killed past its Timeout; a sandbox killed with SIGKILL fails its
invocation (an SQS message is then not deleted) and is replaced; schedules invoke on a
timer. HTTP: JSON 405 for unknown methods, HEAD like GET without a body, stalled requests
dropped after the request timeout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from infra.local.http_adapter import REQUEST_TIMEOUT_S
from infra.local.stack import RunningStack
from tests.integration.harness_stack import handler_calls, request, wait_until


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _pid(stack: RunningStack) -> dict:
    status, _, raw = request(stack, "GET", "/api/pid")
    assert status == 200, raw
    return json.loads(raw)


def test_given_a_function_when_invoked_then_it_runs_in_its_own_named_sandbox_reused_warm(
    stack: RunningStack,
) -> None:
    first, second = _pid(stack), _pid(stack)

    assert first["pid"] != os.getpid() and first["ppid"] == os.getpid()
    assert "sandbox SlowFunction" in _cmdline(first["pid"])
    assert second["pid"] == first["pid"]  # warm: no process per request
    assert first["pid"] in stack.functions["SlowFunction"].sandboxes
    assert not set(stack.functions["SlowFunction"].sandboxes) & set(
        stack.functions["EchoFunction"].sandboxes)


def test_given_more_callers_than_the_concurrency_when_invoked_then_at_most_that_many_overlap(
    stack: RunningStack,
) -> None:
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: request(stack, "GET", "/api/slow?s=0.4"), range(6)))

    assert [a[0] for a in answers] == [200] * 6
    runs = [json.loads(a[2]) for a in answers]
    assert len({r["pid"] for r in runs}) <= 2  # ReservedConcurrentExecutions: 2
    in_flight = [sum(o["started"] <= run["started"] < o["ended"] for o in runs) for run in runs]
    assert max(in_flight) == 2, runs  # two at once, never three


def test_given_an_invocation_past_its_timeout_when_invoked_then_killed_and_replaced(
    stack: RunningStack,
) -> None:
    started = time.monotonic()
    status, _, body = request(stack, "GET", "/api/slow?s=4")  # Timeout: 1
    elapsed = time.monotonic() - started

    assert status == 500 and json.loads(body) == {"message": "Internal Server Error"}
    assert elapsed < 3.0, elapsed
    killed = next(c["pid"] for c in reversed(handler_calls(stack, "SlowFunction"))
                  if c["s"] == 4)
    assert not _alive(killed)
    assert killed not in stack.functions["SlowFunction"].sandboxes
    assert _pid(stack)["pid"] != killed  # a new (or the other warm) sandbox answers


def test_given_a_sandbox_killed_mid_message_then_not_deleted_and_a_timeout_dead_letters_it(
    stack: RunningStack,
) -> None:
    sqs = stack.emulation.client("sqs")
    sqs.send_message(QueueUrl=stack.emulation.queue_urls["WorkQueue"],  # type: ignore[attr-defined]
                     MessageBody="sleep-30")

    def receives() -> list[int]:
        return [c for b, c in handler_calls(stack, "WorkerFunction") if b == "sleep-30"]

    wait_until(lambda: receives() == [1], 10, "first delivery")
    pids = stack.functions["WorkerFunction"].sandboxes
    victim = next(p for p in pids if "sandbox WorkerFunction" in _cmdline(p))
    for pid in pids:  # kill -9 every worker sandbox: the one running sleep-30 among them
        os.kill(pid, signal.SIGKILL)

    wait_until(lambda: receives() == [1, 2], 10, "redelivery after the kill (not deleted)")
    redelivered = time.monotonic()
    wait_until(lambda: any(r["body"] == "sleep-30" for r in handler_calls(stack, "DeadFunction")),
               20, "dead-lettered after the second receive timed out")
    assert time.monotonic() - redelivered < 5 + 5  # Timeout 5 s, not the 30 s sleep
    assert not _alive(victim)
    assert all(_alive(p) for p in stack.functions["WorkerFunction"].sandboxes)


def test_given_a_schedule_when_the_stack_runs_then_the_function_gets_scheduled_events(
    stack: RunningStack,
) -> None:
    wait_until(lambda: len(handler_calls(stack, "TickFunction")) >= 2, 10, "two ticks")

    event = handler_calls(stack, "TickFunction")[0]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"][0].startswith("arn:aws:events:us-east-1:")


def test_given_unknown_methods_when_called_then_json_405(stack: RunningStack) -> None:
    for method in ("TRACE", "PROPFIND", "CONNECT"):
        status, headers, body = request(stack, method, "/api/items/1")
        assert status == 405, method
        assert json.loads(body) == {"detail": "Method Not Allowed"}
        assert headers["content-type"] == "application/json"
        assert "GET" in headers["allow"]


def test_given_head_when_called_then_answered_like_get_without_a_body(stack: RunningStack) -> None:
    get_status, get_headers, get_body = request(stack, "GET", "/api/binary")
    status, headers, body = request(stack, "HEAD", "/api/binary")

    assert (status, body) == (get_status, b"") and get_body
    assert headers["content-length"] == get_headers["content-length"] == str(len(get_body))


def _stalled(stack: RunningStack, payload: bytes) -> tuple[bytes, float]:
    """Send ``payload`` and nothing more; what the server sends before it closes, and when."""
    host, port = stack.api.server_address[:2]
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(payload)
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    return received, time.monotonic() - started


def test_given_stalled_requests_when_the_timeout_passes_then_the_connection_is_closed(
    stack: RunningStack,
) -> None:
    assert REQUEST_TIMEOUT_S == 10.0 == stack.api.request_timeout_s  # the default
    stack.api.request_timeout_s = 0.5  # the same code path, without waiting 10 s per case
    try:
        half_headers, t1 = _stalled(stack, b"GET /api/items/1 HTTP/1.1\r\nHost: x\r\n")
        short_body, t2 = _stalled(stack, b"POST /api/echo HTTP/1.1\r\nHost: x\r\n"
                                         b"Content-Length: 10\r\n\r\nabc")
    finally:
        stack.api.request_timeout_s = REQUEST_TIMEOUT_S

    assert half_headers == b"" and 0.4 < t1 < 5
    head, _, body = short_body.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408") and b"connection: close" in head.lower()
    assert json.loads(body) == {"detail": "Request body not received in time"}
    assert 0.4 < t2 < 5


def test_given_a_hook_when_its_path_is_called_then_it_answers_before_the_routes(
    stack: RunningStack,
) -> None:
    def console(handler) -> bool:
        if handler.path != "/":
            return False
        handler._send(200, [("content-type", "text/html")], b"<h1>console</h1>")
        return True

    stack.api.hooks.insert(0, console)  # ahead of the stack's own (console, WebSocket)
    try:
        status, headers, body = request(stack, "GET", "/")
        passed_on = request(stack, "GET", "/api/items/1")[0]
    finally:
        stack.api.hooks.remove(console)

    assert (status, headers["content-type"], body) == (200, "text/html", b"<h1>console</h1>")
    assert passed_on == 200  # other paths still reach the template's routes


def test_given_an_event_larger_than_a_pipe_buffer_when_invoked_then_the_warm_sandbox_reads_it_whole(
    stack: RunningStack,
) -> None:
    # Regression: the sandbox read its event with one unbuffered pipe read (at most 64 KB),
    # took the short read for EOF and exited 0 mid-invocation (a 59-record stream batch).
    pool = stack.functions["EchoFunction"]
    small = {"rawPath": "/api/items/1", "routeKey": "GET /api/items/{item_id}"}
    pool.invoke(small)
    pid = pool.sandboxes[0]
    big = {**small, "padding": "x" * 1_000_000}

    answer = pool.invoke(big)

    assert json.loads(answer["body"])["event"]["padding"] == big["padding"]
    assert pool.sandboxes == [pid]  # the same warm sandbox: it did not die
