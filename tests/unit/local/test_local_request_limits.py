"""Request limits of the local HTTP server, like API Gateway (docs/local.md): bodies over
10 MB → 413 before they are read (declared or chunked), a body that trickles in past the
request timeout → 408, a malformed length → 400; raw sockets, a real server."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.http_adapter import MAX_BODY_BYTES, ApiServer

TIMEOUT_S = 1.0


@pytest.fixture()
def server() -> Iterator[ApiServer]:
    api = ApiServer(("127.0.0.1", 0), {}, None, request_timeout_s=TIMEOUT_S)
    api.serve_in_thread()
    try:
        yield api
    finally:
        api.shutdown()
        api.server_close()


def _connect(api: ApiServer) -> socket.socket:
    host, port = api.server_address[:2]
    return socket.create_connection((host, port), timeout=10)


def _answer(sock: socket.socket) -> tuple[str, dict]:
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.decode().lower(), json.loads(body)


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_given_a_declared_4_gb_body_when_sent_then_413_at_once_and_memory_stays_flat(
    server: ApiServer,
) -> None:
    before = _rss_kib()
    started = time.monotonic()
    socks = [_connect(server) for _ in range(2)]
    for sock in socks:
        sock.sendall(b"POST /api/backtests/run-async HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 4000000000\r\n\r\n")
    answers = [_answer(sock) for sock in socks]
    for sock in socks:
        sock.close()

    for head, body in answers:
        assert head.startswith("http/1.1 413") and "connection: close" in head
        assert body == {"detail": f"Request body over {MAX_BODY_BYTES} bytes"}
    assert time.monotonic() - started < TIMEOUT_S  # refused before any body byte
    assert _rss_kib() - before < 20 * 1024


def test_given_a_chunked_body_over_10_mb_when_sent_then_413_once_the_count_passes(
    server: ApiServer,
) -> None:
    chunk = b"x" * (1024 * 1024)
    with _connect(server) as sock:
        sock.sendall(b"POST /api/backtests/run-async HTTP/1.1\r\nHost: x\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(10):  # exactly 10 MiB: still accepted so far
            sock.sendall(b"100000\r\n" + chunk + b"\r\n")
        sock.sendall(b"1\r\n")  # one byte more is announced: refused before it is read
        head, body = _answer(sock)

    assert head.startswith("http/1.1 413")
    assert body == {"detail": f"Request body over {MAX_BODY_BYTES} bytes"}


def test_given_a_body_trickling_in_when_the_request_timeout_passes_then_408(
    server: ApiServer,
) -> None:
    started = time.monotonic()
    with _connect(server) as sock:
        sock.sendall(b"POST /api/backtests/run-async HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 1000\r\n\r\n")
        sock.setblocking(False)
        raw = b""
        while time.monotonic() - started < 5 * TIMEOUT_S and not raw:
            with contextlib.suppress(BlockingIOError):
                raw = sock.recv(65536)
            if not raw:
                sock.send(b"x")  # a byte per 0.1 s: no read ever stalls for the timeout
                time.sleep(0.1)  # the trickle's pace (the behaviour under test)
        sock.setblocking(True)
        while chunk := sock.recv(65536):
            raw += chunk

    assert raw.startswith(b"HTTP/1.1 408"), raw[:200]
    assert json.loads(raw.partition(b"\r\n\r\n")[2]) == {
        "detail": "Request body not received in time"}
    assert TIMEOUT_S <= time.monotonic() - started < 3 * TIMEOUT_S


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1e3"])
def test_given_a_malformed_content_length_when_sent_then_400(
    server: ApiServer, length: bytes,
) -> None:
    with _connect(server) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n")
        head, body = _answer(sock)

    assert head.startswith("http/1.1 400")
    assert "Content-Length" in body["detail"]
