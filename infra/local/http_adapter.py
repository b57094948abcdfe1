"""HTTP server standing in for API Gateway: request → v2.0 event → function → response.

A ``ThreadingHTTPServer`` (daemon threads, HTTP/1.1 keep-alive). ``disable_nagle_algorithm``
is set because http.server writes headers and body separately: with Nagle's algorithm and
delayed ACKs a keep-alive client waits ~40 ms for every response. Functions are invoked
through their sandbox pools (``sandbox.FunctionPool``): this process only parses HTTP.

- Methods other than GET/HEAD/POST/PUT/PATCH/DELETE/OPTIONS → JSON 405 ``{"detail"}``;
  HEAD is answered like GET without the body. Malformed requests → JSON 400.
- A request whose line, headers or body stall for ``request_timeout_s`` (10 s) on the
  socket is dropped and its connection closed (a stalled body first gets a JSON 408);
  an idle keep-alive connection is closed after the same time. A body that trickles in
  but is not complete within ``request_timeout_s`` also gets 408.
- Bodies over 10 MB (API Gateway's limit) → JSON 413 and the connection closed, before
  the body is read: a declared ``Content-Length`` is refused at once, a chunked body as
  soon as the count passes the limit. Bodies are read in 64 KiB pieces, so memory stays
  flat whatever length a client declares.
- Extension point: ``ApiServer.hooks`` are tried in order before anything else (the body
  is not read yet); each gets the request handler and returns True when it answered (e.g.
  a static page at ``/``, or a WebSocket upgrade, which must clear the socket timeout).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra.local.apigw import (
    InvalidToken,
    Router,
    build_event,
    cors_preflight_headers,
    cors_response_headers,
    lambda_response,
)
from infra.local.dispatcher import Invoker
from infra.local.sandbox import SandboxStopped
from infra.local.template_model import CorsSpec

log = logging.getLogger("local.http")
# API Gateway's own answer when no route matches (template.yaml routes /{proxy+} to a function).
_NOT_FOUND = json.dumps({"message": "Not Found"}).encode()
_INTERNAL = json.dumps({"message": "Internal Server Error"}).encode()
_STOPPING = json.dumps({"detail": "The local stack is stopping"}).encode()
_UNAUTHORIZED = json.dumps({"detail": "Unauthorized"}).encode()  # every 401: {"detail"}
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
REQUEST_TIMEOUT_S = 10.0
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit (docs/local.md)
_READ_CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """The body is over ``MAX_BODY_BYTES`` (declared, or counted while reading chunks)."""



LocalHandler = Callable[["_Handler"], bool]


class ApiServer(ThreadingHTTPServer):
    """The API: routes from the template, handlers loaded in-process."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # listen backlog; socketserver's 5 drops connections in a burst

    def __init__(
        self,
        address: tuple[str, int],
        functions: dict[str, Invoker],
        cors: CorsSpec | None,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        routes = [(r, lid) for lid, fn in functions.items() for r in fn.spec.routes]
        self.router = Router(routes)
        self.functions = functions
        self.cors = cors
        self.request_timeout_s = request_timeout_s
        # Served before routing (see the module docstring), e.g. a console or a WebSocket.
        self.hooks: list[LocalHandler] = []
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-response is routine; anything else is logged."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        log.exception("http: error while serving %s", client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, args=(0.1,), name="api-http",
                                  daemon=True)  # 0.1 s poll: shutdown() returns quickly
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # else ~40 ms per keep-alive response (see module doc)
    server_version = "local-apigw"
    sys_version = ""

    def setup(self) -> None:
        self.timeout = self.server.request_timeout_s  # socket timeout of every read and write
        super().setup()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # one line per invocation is written by _dispatch instead

    def send_error(self, code: int, message: str | None = None, explain: str | None = None
                   ) -> None:
        """http.server's own answers (bad request line, unknown method) as JSON; an unknown
        method is 405 (http.server says 501)."""
        headers = [("content-type", "application/json")]
        if code == HTTPStatus.NOT_IMPLEMENTED:
            code, message = HTTPStatus.METHOD_NOT_ALLOWED, "Method Not Allowed"
            headers.append(("allow", ", ".join(METHODS)))
        detail = message or HTTPStatus(code).phrase
        try:
            self._send(code, headers, json.dumps({"detail": detail}).encode(), close=True)
        except OSError:
            return
        log.info("http %s %s -> %d %s", self.command, getattr(self, "path", ""), code, detail)

    def _dispatch(self) -> None:
        if any(hook(self) for hook in self.server.hooks):
            return
        started = time.perf_counter()
        try:
            body = self._read_body()
        except TimeoutError:
            self.send_error(HTTPStatus.REQUEST_TIMEOUT, "Request body not received in time")
            return
        except BodyTooLarge:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                            f"Request body over {MAX_BODY_BYTES} bytes")
            return
        except ValueError as exc:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Malformed request body: {exc}")
            return
        raw_path, _, raw_query = self.path.partition("?")
        origin = self.headers.get("origin", "")
        cors = self.server.cors
        if (cors and self.command == "OPTIONS" and origin
                and self.headers.get("access-control-request-method")):
            self._send(204, cors_preflight_headers(cors, origin), b"")
            return
        method = "GET" if self.command == "HEAD" else self.command  # HEAD: GET without a body
        match = self.server.router.match(method, raw_path)
        if match is None:
            self._send(404, [("content-type", "application/json")], _NOT_FOUND)
            log.info("http %s %s -> 404 no route (%.1f ms)", self.command, raw_path,
                     (time.perf_counter() - started) * 1000)
            return
        function = self.server.functions[match.target]
        try:
            event = build_event(method, raw_path, raw_query, list(self.headers.items()),
                                body, match, self.client_address[0])
        except InvalidToken as exc:
            log.warning("http %s %s -> 401 %s", self.command, raw_path, exc)
            self._send(401, [("content-type", "application/json")], _UNAUTHORIZED)
            return
        status, headers, payload = self._invoke(function, event)
        if cors and origin:
            headers = [h for h in headers if not h[0].startswith("access-control-")]
            headers += cors_response_headers(cors, origin)
        headers.append(("apigw-requestid", event["requestContext"]["requestId"]))
        self._send(status, headers, payload)
        log.info("http %s %s (%s) -> %d (%.1f ms)", function.spec.logical_id,
                 match.route.route_key, raw_path, status, (time.perf_counter() - started) * 1000)

    def _invoke(
        self, function: Invoker, event: dict[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            return lambda_response(function.invoke(event))
        except SandboxStopped:  # a request still in flight while the stack stops
            return 503, [("content-type", "application/json")], _STOPPING
        except Exception as exc:  # API Gateway answers 500 when the integration fails
            log.error("%s failed: %s\n%s", function.spec.logical_id, exc,
                      getattr(exc, "trace", "") or traceback.format_exc())
            return 500, [("content-type", "application/json")], _INTERNAL

    def _read_body(self) -> bytes:
        """The request body (Content-Length or chunked); TimeoutError when it stalls or is
        not complete within the request timeout, BodyTooLarge over the limit, ValueError
        when its framing is malformed."""
        deadline = time.monotonic() + self.server.request_timeout_s
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            return self._read_chunked(deadline)
        declared = (self.headers.get("content-length") or "0").strip()
        if not declared.isdigit():
            raise ValueError(f"Content-Length {declared!r} is not a length")
        length = int(declared)
        if length > MAX_BODY_BYTES:
            raise BodyTooLarge
        return self._read_exactly(length, deadline)

    def _read_exactly(self, length: int, deadline: float) -> bytes:
        parts: list[bytes] = []
        remaining = length
        while remaining:
            part = self.rfile.read1(min(remaining, _READ_CHUNK))
            if not part:  # the client closed its side early
                raise ValueError("body shorter than Content-Length")
            parts.append(part)
            remaining -= len(part)
            if remaining and time.monotonic() > deadline:
                raise TimeoutError
        return b"".join(parts)

    def _read_chunked(self, deadline: float) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line or b"0", 16)
            except ValueError:
                raise ValueError(f"chunk size {line[:20]!r} is not hexadecimal") from None
            if size == 0:
                self.rfile.readline(1024)
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise BodyTooLarge
            chunks.append(self._read_exactly(size, deadline))
            self.rfile.readline(1024)
            if time.monotonic() > deadline:
                raise TimeoutError

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes,
              close: bool = False) -> None:
        self.send_response(status)
        for name, value in headers:
            if name not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if close:
            self.send_header("connection", "close")  # sets close_connection too
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
