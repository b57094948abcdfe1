"""A small synchronous client of the backtest HTTP API (docs/api.md), standard library only.

Example::

    client = BacktestClient("http://localhost:8000")
    task = client.submit({"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"],
                          "start_date": "2024-01-01", "end_date": "2024-12-31"})
    final = client.wait(task["task_id"], timeout_s=60)   # status document, terminal
    doc = client.result(task["task_id"])                 # the result (docs/engine.md#result-document)

Errors: `ApiError` for every 4xx/5xx answer (``status`` and a readable ``detail``),
`ApiUnreachable` when no HTTP answer arrives at all, `WaitTimeout` from `wait`.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import orjson

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
DEFAULT_POLL_S = 1.0
MIN_POLL_S = 0.2
_LOC_PREFIXES = frozenset({"body", "query", "path", "header"})

ProgressCallback = Callable[[dict[str, Any]], None]


class ApiError(Exception):
    """The API answered with a 4xx/5xx. ``detail`` is human-readable; ``body`` is raw."""

    def __init__(self, status: int, detail: str, body: Any = None) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail
        self.body = body


class ApiUnreachable(Exception):
    """No HTTP answer: connection refused, DNS failure, timeout, connection reset."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url} ({reason})")
        self.url = url
        self.reason = reason


class WaitTimeout(TimeoutError):
    """`BacktestClient.wait` hit its deadline; ``last`` is the last status document."""

    def __init__(self, task_id: str, timeout_s: float, last: dict[str, Any]) -> None:
        super().__init__(f"task {task_id} not finished after {timeout_s:g} s")
        self.task_id = task_id
        self.last = last


def render_detail(detail: Any) -> str:
    """Turn a ``{"detail": ...}`` value into one line.

    A FastAPI-style 422 list ``[{"loc": ["body", "params", "num_bins"], "msg": "..."}]``
    becomes ``"field params.num_bins: ..."`` (items joined with ``"; "``).
    """
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        return "; ".join(_render_item(item) for item in detail) or "validation error"
    if detail is None:
        return ""
    return json.dumps(detail, separators=(",", ":"))


def _render_item(item: Any) -> str:
    if not isinstance(item, Mapping):
        return str(item)
    loc = [str(part) for part in item.get("loc") or []]
    if len(loc) > 1 and loc[0] in _LOC_PREFIXES:
        loc = loc[1:]
    msg = str(item.get("msg") or item.get("type") or "invalid")
    return f"field {'.'.join(loc)}: {msg}" if loc else msg


def _reason(exc: BaseException) -> str:
    """A short reason for a transport failure: "connection refused", "timed out", ..."""
    inner: BaseException = exc.reason if isinstance(exc, urllib.error.URLError) else exc  # type: ignore[assignment]
    if isinstance(inner, ConnectionRefusedError):
        return "connection refused"
    if isinstance(inner, TimeoutError):
        return "timed out"
    if isinstance(inner, socket.gaierror):
        return f"name resolution failed: {inner.strerror or inner}"
    if isinstance(inner, ConnectionResetError | http.client.RemoteDisconnected):
        return "connection closed by server"
    return str(inner) or type(inner).__name__


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delay-seconds form), None if absent/invalid."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # HTTP-date form: not used by this API
    return seconds if seconds >= 0 else None


class BacktestClient:
    """Synchronous API client. ``timeout`` is per request (seconds)."""

    def __init__(self, base_url: str, timeout: float = 10, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token = token
        self.last_retry_after: float | None = None

    # -- transport ---------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[bytes, Mapping[str, str]]:
        url = self.base_url + path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else orjson.dumps(body)
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        req.add_header("Accept-Encoding", "gzip")  # large results come compressed
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return _body(resp.read(), resp.headers), resp.headers
        except urllib.error.HTTPError as exc:  # errors of a compressed route come gzipped too
            raise _api_error(exc.code, _body(exc.read(), exc.headers)) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise ApiUnreachable(self.base_url, _reason(exc)) from None

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        raw, _ = self._request(method, path, **kwargs)
        return _decode(raw)

    # -- routes ------------------------------------------------------------------
    def submit(self, request: Mapping[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """POST /api/backtests/run-async → ``{task_id, status: "queued", created_at}``."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._json("POST", "/api/backtests/run-async", body=dict(request), headers=headers)

    def submit_sweep(self, request: Mapping[str, Any],
                     idempotency_key: str | None = None) -> dict[str, Any]:
        """POST /api/sweeps/run-async → ``{task_id, status, created_at, kind, combinations,
        shards}``."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._json("POST", "/api/sweeps/run-async", body=dict(request), headers=headers)

    def status(self, task_id: str, view: str | None = None) -> dict[str, Any]:
        """GET /api/backtests/status/{id}; remembers ``Retry-After`` in ``last_retry_after``.
        ``view="summary"`` inlines the summary view of a completed result (docs/api.md)."""
        raw, headers = self._request("GET", f"/api/backtests/status/{_quote(task_id)}",
                                     query={"view": view})
        self.last_retry_after = parse_retry_after(headers.get("Retry-After"))
        return _decode(raw)

    def cancel(self, task_id: str) -> dict[str, Any]:
        """DELETE /api/backtests/tasks/{id} → ``{task_id, status: "cancelled", created_at}``."""
        return self._json("DELETE", f"/api/backtests/tasks/{_quote(task_id)}")

    def history(
        self,
        limit: int | None = None,
        cursor: str | None = None,
        strategy: str | None = None,
        status: str | None = None,
    ) -> dict[str, Any]:
        """GET /api/backtests/history → ``{items, next_cursor}``, newest first."""
        query = {"limit": limit, "cursor": cursor, "strategy": strategy, "status": status}
        return self._json("GET", "/api/backtests/history", query=query)

    def result(self, run_id: str, view: str | None = None) -> dict[str, Any]:
        """GET /api/backtests/{run_id} → the result document (docs/engine.md#result-document); ``view="summary"``
        without the per-bar and per-signal lists (docs/api.md "Result views")."""
        return self._json("GET", f"/api/backtests/{_quote(run_id)}", query={"view": view})

    def download(self, run_id: str) -> bytes:
        """GET /api/backtests/{run_id}/download → the result document as raw bytes."""
        raw, _ = self._request("GET", f"/api/backtests/{_quote(run_id)}/download")
        return raw

    def strategies(self) -> dict[str, Any]:
        """GET /api/strategies → ``{strategies, count, details}``."""
        return self._json("GET", "/api/strategies")

    def put_strategy(self, name: str, document: Mapping[str, Any]) -> dict[str, Any]:
        """PUT /api/strategies/{name} → ``{name, version, created_at}``."""
        return self._json("PUT", f"/api/strategies/{_quote(name)}", body=dict(document))

    def get_strategy(self, name: str) -> dict[str, Any]:
        """GET /api/strategies/{name} → the saved rule document."""
        return self._json("GET", f"/api/strategies/{_quote(name)}")

    def delete_strategy(self, name: str) -> None:
        """DELETE /api/strategies/{name} (204)."""
        self._request("DELETE", f"/api/strategies/{_quote(name)}")

    def trades_csv(self, run_id: str, symbol: str | None = None) -> bytes:
        """GET /api/backtests/{run_id}/trades.csv → every trade as CSV (the root portfolio's,
        or ``symbol``'s own)."""
        raw, _ = self._request("GET", f"/api/backtests/{_quote(run_id)}/trades.csv",
                               query={"symbol": symbol})
        return raw

    def inventory(self) -> dict[str, Any]:
        """GET /api/data/inventory → ``{items: [{symbol, timeframe, first, last, rows, source}]}``."""
        return self._json("GET", "/api/data/inventory")

    def health(self) -> dict[str, Any]:
        """GET /api/health → ``{status: "ok", timestamp}``."""
        return self._json("GET", "/api/health")

    # -- helpers -----------------------------------------------------------------
    def wait(
        self,
        task_id: str,
        on_progress: ProgressCallback | None = None,
        poll_s: float | None = None,
        timeout_s: float | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> dict[str, Any]:
        """Poll the status until it is terminal; return the last status document.

        The pause between polls is the server's ``Retry-After``, else ``poll_s``, else
        1 s, never below 0.2 s, and never past the deadline (``timeout_s``; None = no
        limit). ``on_progress`` receives every status document. Raises `WaitTimeout`.
        ``sleep``/``clock`` default to `time.sleep`/`time.monotonic` (tests pass fakes).
        """
        sleep = sleep or time.sleep
        clock = clock or time.monotonic
        deadline = None if timeout_s is None else clock() + timeout_s
        while True:
            doc = self.status(task_id)
            if on_progress is not None:
                on_progress(doc)
            if doc.get("status") in TERMINAL_STATUSES:
                return doc
            interval = self.poll_interval(poll_s)
            if deadline is not None:
                remaining = deadline - clock()
                if remaining <= 0:
                    raise WaitTimeout(task_id, float(timeout_s or 0), doc)
                interval = min(interval, remaining)
            sleep(interval)

    def poll_interval(self, poll_s: float | None = None) -> float:
        """Seconds to wait before the next status poll (Retry-After wins, min 0.2 s)."""
        chosen = self.last_retry_after
        if chosen is None:
            chosen = DEFAULT_POLL_S if poll_s is None else poll_s
        return max(MIN_POLL_S, chosen)


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _decode(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    value = orjson.loads(raw)
    return value if isinstance(value, dict) else {"value": value}


def _body(raw: bytes, headers: Mapping[str, str] | None) -> bytes:
    """``raw`` decompressed when the answer says ``Content-Encoding: gzip``."""
    if headers is not None and (headers.get("Content-Encoding") or "").lower() == "gzip":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError):  # not gzip after all: shown as sent
            return raw
    return raw


def _api_error(status: int, raw: bytes) -> ApiError:
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace").strip()
    if isinstance(body, dict) and "detail" in body:
        detail = render_detail(body["detail"])
    elif isinstance(body, dict) and "message" in body:  # API Gateway's own errors
        detail = str(body["message"])
    elif isinstance(body, str) and body:
        detail = body[:200]
    else:
        detail = http.client.responses.get(status, "HTTP error")
    return ApiError(status, detail, body)
