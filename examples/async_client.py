"""An asyncio client of the backtest API on aiohttp, and a demo running two backtests at once.

    API_URL=http://localhost:8000 python examples/async_client.py

Prints one line per backtest: ``TASK_ID STRATEGY SYMBOLS total_signals=N``.
Only aiohttp is needed; copy the class into your own code.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from types import TracebackType
from typing import Any

import aiohttp

TERMINAL = frozenset({"completed", "failed", "cancelled"})


class BacktestApiError(Exception):
    """A 4xx/5xx answer; ``detail`` is the ``{"detail": ...}`` value."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail


class AsyncBacktestClient:
    """``async with AsyncBacktestClient(url) as api: task = await api.submit({...})``."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AsyncBacktestClient:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(self, method: str, path: str,
                    **kwargs: Any) -> tuple[dict[str, Any], float | None]:
        """One request → (JSON body, Retry-After seconds or None)."""
        assert self._session is not None, "use `async with AsyncBacktestClient(...)`"
        async with self._session.request(method, self.base_url + path, **kwargs) as resp:
            body = await resp.json(content_type=None)
            if resp.status >= 400:
                raise BacktestApiError(resp.status, (body or {}).get("detail"))
            retry_after = resp.headers.get("Retry-After")
            return body, float(retry_after) if retry_after else None

    async def submit(self, request: dict[str, Any],
                     idempotency_key: str | None = None) -> dict[str, Any]:
        """POST /api/backtests/run-async → {task_id, status: "queued", created_at}."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body, _ = await self._call("POST", "/api/backtests/run-async", json=request,
                                   headers=headers)
        return body

    async def status(self, task_id: str) -> dict[str, Any]:
        """GET /api/backtests/status/{task_id}."""
        body, _ = await self._call("GET", f"/api/backtests/status/{task_id}")
        return body

    async def cancel(self, task_id: str) -> dict[str, Any]:
        """DELETE /api/backtests/tasks/{task_id}."""
        body, _ = await self._call("DELETE", f"/api/backtests/tasks/{task_id}")
        return body

    async def wait_for_completion(self, task_id: str, timeout_s: float = 300.0,
                                  poll_s: float = 1.0) -> dict[str, Any]:
        """Poll until terminal; the pause is the server's Retry-After (≥ 0.2 s).

        Returns the final status document (``result`` inlined when completed);
        raises TimeoutError after ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            doc, retry_after = await self._call("GET", f"/api/backtests/status/{task_id}")
            if doc["status"] in TERMINAL:
                return doc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"task {task_id} still {doc['status']} after {timeout_s} s")
            await asyncio.sleep(min(max(0.2, retry_after or poll_s), remaining))


async def run_one(api: AsyncBacktestClient, request: dict[str, Any]) -> dict[str, Any]:
    """Submit one backtest and wait for its final status."""
    accepted = await api.submit(request)
    return await api.wait_for_completion(accepted["task_id"])


async def main() -> int:
    """Run two backtests concurrently and print their total signals."""
    api_url = os.environ.get("API_URL", "http://localhost:8000")
    window = {"start_date": "2024-01-01", "end_date": "2024-12-31", "timeframe": "1d"}
    requests = [
        {"strategy": "volume_zone_breakout", "params": {}, "symbols": ["BTC_KRW"], **window},
        {"strategy": "volume_long_candle", "params": {"vol_multiplier": 1.2},
         "symbols": ["ETH_KRW"], **window},
    ]
    async with AsyncBacktestClient(api_url) as api:
        finals = await asyncio.gather(*(run_one(api, r) for r in requests))
    code = 0
    for request, final in zip(requests, finals, strict=True):
        label = f"{final['task_id']} {request['strategy']} {','.join(request['symbols'])}"
        if final["status"] == "completed":
            print(f"{label} total_signals={final['result']['total_signals']}")
        else:
            print(f"{label} {final['status']}: {final.get('error')}", file=sys.stderr)
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
