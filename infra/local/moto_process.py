"""``python -m infra.local.moto_process``: moto's server in its own process.

Started by ``emulation.start_emulation`` so that moto (DynamoDB, SQS, S3) does not share a
GIL with the HTTP adapter, the handlers and the worker's engine. What it adds to moto:

- the DynamoDB lock of ``moto_lock.py``, installed before serving (moto is not atomic
  under concurrent requests);
- HTTP/1.1 keep-alive: werkzeug's dev server closes every connection, so each boto3 call
  paid a new TCP connection (and a 10 ms drain wait per request held a server thread);
- a listen backlog of 256 instead of 5 (bursts of connections are not dropped);
- ``--gated`` (a restart of a dead emulation, supervisor.py): every request without
  ``X-Local-No-Journal`` (the stack's own bootstrap, snapshot load and replay) is answered
  503 until ``POST /_local/open``, so that no sandbox writes into it before its state is
  reloaded (a 503 is transient: the caller retries);
- it dies with its parent: on EOF of stdin (the parent holds the other end of the pipe)
  or when the parent process changes (``os.getppid()``). Ctrl-C in a terminal reaches
  the whole process group; this process ignores SIGINT and lets the parent stop it.

Protocol with the parent: one line ``READY <port>`` on stdout once it accepts
connections; afterwards stdout is redirected to stderr.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from infra.local.journal import NO_JOURNAL_HEADER, Journal, is_journalled

BACKLOG = 256
PARENT_POLL_S = 0.5
SIGTERM_GRACE_S = 3.0  # a SIGTERM to the whole group: let the parent stop its pollers first
OPEN_PATH = "/_local/open"  # opens a --gated server
_CLOSED = (b'{"__type": "ServiceUnavailable", "message": "the local emulation is reloading'
           b' its state"}')


def speed_up_moto() -> None:
    """Two hot spots of moto's server under load, replaced by equivalents.

    - Every request looks its service up in ``backends.list_of_moto_modules()``, which
      lists moto's package directory and stats ~200 entries, inside the dispatcher's
      global lock: each stat releases the GIL, so concurrent requests convoy on it. The
      directory does not change while we run: the list is computed once.
    - ``SQSBackend.receive_message`` checks each delivered message's retention period by
      computing *all* queue attributes (each a pass over the queue's messages): read the
      one attribute directly.
    """
    from moto import backends
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str,
                                                   message: Any) -> bool:
        retention_s = int(self.get_queue(queue_name).message_retention_period)
        return retention_s + message.sent_timestamp / 1000 > unix_time()

    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period)


def make_server(host: str, port: int, journal: Journal | None = None,
                gate: threading.Event | None = None) -> Any:
    """A threaded werkzeug server running moto's app, with keep-alive and a big backlog;
    with ``gate``, requests of others than the stack wait for it (503) until it is set."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import ThreadedWSGIServer

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are written separately

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass  # one werkzeug line per AWS call otherwise

        def run_wsgi(self) -> None:
            """Serve one request and keep the connection open (werkzeug always closes).

            The body is read here in full (Content-Length), so the next request line is
            where the next read starts; anything else (chunked uploads) goes through
            werkzeug's own path, which closes the connection.
            """
            length = self.headers.get("Content-Length")
            if gate is not None and not gate.is_set() and self._gated(length):
                return
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower() or (
                length is None and self.command in ("POST", "PUT", "PATCH")
            ):
                self.close_connection = True
                super().run_wsgi()
                return
            if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = self.rfile.read(int(length)) if length else b""
            environ = self.make_environ()
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            started: list[Any] = []

            def start_response(status: str, headers: list[tuple[str, str]],
                               exc_info: Any = None) -> Any:
                started[:] = [status, headers]
                return lambda data: chunks.append(data)

            chunks: list[bytes] = []
            journalled = journal is not None and is_journalled(self.command, self.path,
                                                                self.headers)
            try:
                if journalled:
                    assert journal is not None
                    end = 0
                    with journal.lock:  # journal order = applied order (docs/local.md)
                        self._apply(environ, start_response, chunks)
                        if started[0].startswith("2"):
                            end = journal.append(self.command, self.path, self.headers, body)
                    if end:
                        journal.sync(end)  # on disk before the answer (one fsync for many)
                else:
                    self._apply(environ, start_response, chunks)
            except Exception:
                logging.getLogger("local.moto").exception("moto raised on %s %s",
                                                          self.command, self.path)
                started[:] = ["500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")]]
                chunks = [b"Internal Server Error"]
                self.close_connection = True
            payload = b"".join(chunks)
            code, _, reason = started[0].partition(" ")
            self.send_response(int(code), reason)
            for name, value in started[1]:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            if self.command == "HEAD":
                declared = [v for n, v in started[1] if n.lower() == "content-length"]
                self.send_header("Content-Length", declared[0] if declared else "0")
            else:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)

        def _gated(self, length: str | None) -> bool:
            """Answer a request of a closed gate (True), or let it through (False)."""
            assert gate is not None
            if self.path.startswith("/moto-api/") or self.headers.get(NO_JOURNAL_HEADER):
                return False
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self.close_connection = True
            elif length:
                self.rfile.read(int(length))
            opening = self.command == "POST" and self.path == OPEN_PATH
            if opening:
                gate.set()
            self.send_response(200 if opening else 503)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", "0" if opening else str(len(_CLOSED)))
            self.end_headers()
            if not opening and self.command != "HEAD":
                self.wfile.write(_CLOSED)
            return True

        def _apply(self, environ: dict[str, Any], start_response: Any,
                   chunks: list[bytes]) -> None:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()

    class Server(ThreadedWSGIServer):
        request_queue_size = BACKLOG

    app = DomainDispatcherApplication(create_backend_app)
    return Server(host, port, app, handler=KeepAliveHandler)


def _watch_parent(parent: int, done: threading.Event) -> None:
    """Set ``done`` when stdin reaches EOF (the parent closed it or died)."""

    def read_stdin() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        done.set()

    def poll_parent() -> None:
        while not done.wait(PARENT_POLL_S):
            if os.getppid() != parent:  # re-parented: the parent is gone
                done.set()

    threading.Thread(target=read_stdin, name="stdin-eof", daemon=True).start()
    threading.Thread(target=poll_parent, name="parent-poll", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.moto_process")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--parent-pid", type=int, default=os.getppid())
    parser.add_argument("--journal", type=Path, default=None,
                        help="append every acknowledged write here (docs/local.md)")
    parser.add_argument("--gated", action="store_true",
                        help=f"answer 503 to all but the stack until POST {OPEN_PATH}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOCAL_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops us
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: threading.Timer(SIGTERM_GRACE_S, done.set).start())
    _watch_parent(args.parent_pid, done)

    from infra.local.moto_lock import install_dynamodb_lock

    install_dynamodb_lock()
    speed_up_moto()
    server = make_server(args.host, args.port,
                         Journal(args.journal) if args.journal else None,
                         threading.Event() if args.gated else None)
    # Step Functions service integrations (sqs:sendMessage...) call moto back at
    # localhost:$MOTO_PORT (default 5000): point them at the port actually bound.
    os.environ["MOTO_PORT"] = str(server.server_address[1])
    threading.Thread(target=server.serve_forever, args=(0.1,), name="moto-http",
                     daemon=True).start()
    print(f"READY {server.server_address[1]}", flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nobody reads the pipe any more
    done.wait()
    server.shutdown()
    sys.stderr.flush()
    os._exit(0)  # at once: request threads may sit in a 20 s SQS long poll; no state to save


if __name__ == "__main__":
    sys.exit(main())
