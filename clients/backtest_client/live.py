"""Follow a task over the WebSocket (docs/live.md), falling back to polling.

``ws_url_for(api_url, task_id)``: the local stack serves ``/ws/backtest/{id}`` on the API's
own port; a deployment's WebSocket API has its own URL (the stack output
``WebSocketUrl``), given by ``BACKTEST_WS_URL`` and used as ``{url}?task_id={id}``.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from backtest_client.http import (
    TERMINAL_STATUSES,
    ApiError,
    BacktestClient,
    ProgressCallback,
    WaitTimeout,
)

NOT_FOUND_CLOSE = 4404


class LiveUnavailable(Exception):
    """No WebSocket (refused upgrade, no server, connection lost): poll instead."""


def ws_url_for(api_url: str, task_id: str, ws_base: str | None = None,
               token: str | None = None) -> str:
    query: dict[str, str] = {}
    if ws_base:
        url, query["task_id"] = ws_base.rstrip("/"), task_id
    else:
        parts = urllib.parse.urlsplit(api_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        path = f"{parts.path.rstrip('/')}/ws/backtest/{urllib.parse.quote(task_id, safe='')}"
        url = urllib.parse.urlunsplit((scheme, parts.netloc, path, "", ""))
    if token:
        query["token"] = token
    return url + ("?" + urllib.parse.urlencode(query) if query else "")


def follow_ws(url: str, task_id: str, on_progress: ProgressCallback | None,
              timeout_s: float | None, clock: Callable[[], float] = time.monotonic
              ) -> dict[str, Any]:
    """Messages until the terminal one; its document. Raises LiveUnavailable, ApiError
    (404 on close 4404) or WaitTimeout."""
    from websockets.exceptions import ConnectionClosed, InvalidHandshake
    from websockets.sync.client import connect

    deadline = None if timeout_s is None else clock() + timeout_s
    last: dict[str, Any] = {}
    try:
        with connect(url, open_timeout=5, close_timeout=2) as ws:
            while True:
                remaining = None if deadline is None else max(deadline - clock(), 0)
                try:
                    raw = ws.recv(timeout=remaining)
                except TimeoutError:
                    raise WaitTimeout(task_id, float(timeout_s or 0), last) from None
                except ConnectionClosed as closed:
                    rcvd = closed.rcvd
                    if rcvd is not None and rcvd.code == NOT_FOUND_CLOSE:
                        raise ApiError(404, rcvd.reason or f"Task not found: {task_id}") from None
                    raise LiveUnavailable(f"connection closed ({closed})") from None
                last = json.loads(raw)
                if on_progress is not None:
                    on_progress(last)
                if last.get("status") in TERMINAL_STATUSES:
                    return last
    except InvalidHandshake as exc:  # e.g. HTTP 404 from an API without the route
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status == 404 and "ws/backtest" not in url:  # API Gateway's $connect said 404
            raise ApiError(404, f"Task not found: {task_id}") from None
        raise LiveUnavailable(str(exc)) from None
    except (OSError, TimeoutError) as exc:
        raise LiveUnavailable(str(exc) or type(exc).__name__) from None


def follow(client: BacktestClient, task_id: str, on_progress: ProgressCallback | None = None,
           timeout_s: float | None = None, ws_base: str | None = None,
           say: Callable[[str], None] = print) -> dict[str, Any]:
    """Follow over the WebSocket, else poll; ``say`` tells which (one line)."""
    url = ws_url_for(client.base_url, task_id, ws_base, client.token)
    shown = url.split("?", 1)[0]
    started = time.monotonic()
    try:
        say(f"following over WebSocket {shown}")
        return follow_ws(url, task_id, on_progress, timeout_s)
    except LiveUnavailable as exc:
        say(f"WebSocket unavailable ({exc}); polling the status instead")
    remaining = None if timeout_s is None else max(timeout_s - (time.monotonic() - started), 0)
    return client.wait(task_id, on_progress=on_progress, timeout_s=remaining)
