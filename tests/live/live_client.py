"""Subscribing to a task's progress over the local WebSocket (asyncio, websockets)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

TERMINAL = ("completed", "failed", "cancelled")
STATUS_RANK = {"queued": 0, "running": 1, "completed": 2, "failed": 2, "cancelled": 2}


@dataclass
class Subscription:
    messages: list[dict] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""


async def subscribe(ws_url: str, task_id: str, timeout_s: float = 120,
                    query: str = "") -> Subscription:
    """Every message until the server closes the connection."""
    sub = Subscription()
    url = f"{ws_url}/ws/backtest/{task_id}" + (f"?{query}" if query else "")
    async with asyncio.timeout(timeout_s), connect(url) as ws:
        try:
            async for raw in ws:
                sub.messages.append(json.loads(raw))
        except ConnectionClosed:
            pass
        sub.close_code, sub.close_reason = ws.close_code, ws.close_reason or ""
    return sub


def assert_well_formed(sub: Subscription, terminal: str | None = None) -> None:
    """The messages of docs/live.md: seq 1, 2, ...; never backwards; the terminal message last; close 1000."""
    msgs = sub.messages
    assert msgs, "no message at all"
    assert [m["seq"] for m in msgs] == list(range(1, len(msgs) + 1))
    ranks = [STATUS_RANK[m["status"]] for m in msgs]
    assert ranks == sorted(ranks), [m["status"] for m in msgs]
    progress = [m["progress"] for m in msgs]
    assert progress == sorted(progress), progress
    assert [m["status"] in TERMINAL for m in msgs] == [False] * (len(msgs) - 1) + [True]
    if terminal:
        assert msgs[-1]["status"] == terminal, msgs[-1]
    assert "result" not in msgs[-1]
    assert (sub.close_code, sub.close_reason) == (1000, "")
