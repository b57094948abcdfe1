"""Canned answers shaped as in docs/api.md, served by a tiny real HTTP server (used by conftest)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any


@dataclass
class Canned:
    """One answer: status, JSON body (or raw bytes) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeApi:
    """Routes ``(method, path-with-query)`` to a queue of answers; the last one repeats."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Canned]] = {}
        self.requests: list[Seen] = []
        self.url = ""

    def add(self, method: str, path: str, *answers: Canned) -> None:
        self.routes[(method, path)] = list(answers)

    def answer(self, method: str, path: str) -> Canned:
        queue = self.routes.get((method, path)) or self.routes.get((method, path.split("?")[0]))
        if not queue:
            return Canned(404, {"detail": "Not Found"})
        return queue.pop(0) if len(queue) > 1 else queue[0]


def make_handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            api.requests.append(Seen(self.command, self.path, dict(self.headers), body))
            canned = api.answer(self.command, self.path)
            payload = canned.body if isinstance(canned.body, bytes) else (
                b"" if canned.body is None else json.dumps(canned.body).encode())
            self.send_response(canned.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in canned.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            return

    return Handler


def status_doc(task_id: str, status: str, progress: float, stage: str | None = None,
               **extra: Any) -> dict[str, Any]:
    """A status document (docs/api.md, "Follow a task")."""
    doc: dict[str, Any] = {
        "task_id": task_id, "status": status, "progress": progress, "stage": stage,
        "result": None, "error": None, "created_at": "2025-01-01T00:00:00Z",
        "started_at": None, "updated_at": "2025-01-01T00:00:01Z", "finished_at": None,
        "symbols_total": 2, "symbols_done": 0,
    }
    doc.update(extra)
    return doc


def result_doc(run_id: str) -> dict[str, Any]:
    """A result document (docs/api.md, "Result") with two symbols."""
    def sym(name: str, n: int) -> dict[str, Any]:
        return {
            "symbol": name, "is_active": True,
            "signals": [{"symbol": name, "type": "buy", "timestamp": "2024-01-02T00:00:00Z",
                         "entry_price": 1.0, "exit_price": 1.01, "return_pct": 0.01,
                         "confidence": 0.6}] * n,
            "win_rate": 0.5, "avg_return": 0.25, "max_drawdown": 1.5, "avg_hold_bars": 1.0,
            "performance_curve": None,
            "portfolio": {"total_return_pct": 3.21, "sharpe": 1.23},
            "data": {"rows": 366, "first": "2024-01-01", "last": "2024-12-31", "sha256": "x"},
        }

    return {
        "version": "1.3.0", "run_id": run_id, "strategy": "volume_zone_breakout",
        "params": {}, "start_date": "2024-01-01", "end_date": "2024-12-31",
        "timeframe": "1d", "symbols": [sym("BTC_KRW", 3), sym("ETH_KRW", 2)],
        "total_signals": 5, "execution_time": 0.12, "metadata": {}, "failed_symbols": [],
        "description": None,
    }
