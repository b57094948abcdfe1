"""Submit a backtest and follow it over the WebSocket until it ends, client side.

    API_URL=http://localhost:8000 python examples/ws_follow.py

The server sends a snapshot, then one message per change (status, stage, progress,
symbols done), the terminal message last, then closes with code 1000. An unknown task
(or another owner's) is closed with 4404 "Task not found: {id}". Needs `websockets`.
Prints one line per message: ``SEQ STATUS STAGE PROGRESS``.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request

from websockets.asyncio.client import connect

API_URL = os.environ.get("API_URL", "http://localhost:8000")
BODY = {"strategy": "volume_zone_breakout", "params": {"volume_window": 20},
        "symbols": ["BTC_KRW", "ETH_KRW"], "start_date": "2024-01-01",
        "end_date": "2025-12-31", "timeframe": "1h"}


def submit() -> str:
    request = urllib.request.Request(f"{API_URL}/api/backtests/run-async",
                                     data=json.dumps(BODY).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.load(resp)["task_id"]


async def follow(task_id: str) -> dict:
    url = API_URL.replace("http", "ws", 1) + f"/ws/backtest/{task_id}"
    async with connect(url) as websocket:
        while True:
            status = json.loads(await websocket.recv())
            print(status["seq"], status["status"], status["stage"], status["progress"],
                  flush=True)
            if status["status"] in ["completed", "failed", "cancelled"]:
                return status


if __name__ == "__main__":
    task = submit()
    print("task_id:", task)
    final = asyncio.run(follow(task))
    print("result:", final["result_url"] or final["error"])
