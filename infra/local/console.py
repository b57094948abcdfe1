"""The web console's static files (console/), served at ``/`` by the local stack.

``/config.js`` is generated: the local console talks to its own origin (API under
``/api``, WebSocket at ``/ws/backtest/{task_id}``). So is ``/examples/strategies.json``:
the rule documents of examples/strategies/, which the strategy editor offers as starting
points. Deployed, ``make console-deploy`` uploads the same files with a config.js naming
the API and WebSocket URLs (infra/console_deploy.py).
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CONSOLE_DIR = REPO_ROOT / "console"
EXAMPLES_DIR = REPO_ROOT / "examples" / "strategies"
EXAMPLES_PATH = "examples/strategies.json"  # relative to the console's root
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
          ".ico": "image/x-icon"}


def config_js(api_url: str, ws_url: str) -> str:
    """``window.BACKTEST_CONFIG``: ``apiUrl`` ("" = same origin) and ``wsUrl``, where
    ``{task_id}`` is replaced ("" = same origin, ``/ws/backtest/{task_id}``)."""
    config = {"apiUrl": api_url, "wsUrl": ws_url}
    return f"window.BACKTEST_CONFIG = {json.dumps(config)};\n"


def strategy_examples_json(directory: Path = EXAMPLES_DIR) -> str:
    """``{"items": [{"file": "sma_ema_cross.json", "document": {...}}, ...]}``, sorted by
    file name: every rule document of ``directory``, parsed (a broken file raises)."""
    items = [{"file": path.name, "document": json.loads(path.read_text(encoding="utf-8"))}
             for path in sorted(directory.glob("*.json"))]
    return json.dumps({"items": items})


class ConsoleFiles:
    """HTTP handler hook: GET/HEAD of ``/`` and of files under ``root`` (never ``/api``)."""

    def __init__(self, root: Path = CONSOLE_DIR) -> None:
        self.root = root.resolve()

    def handle(self, handler: Any) -> bool:
        if handler.command not in ("GET", "HEAD"):
            return False
        path = handler.path.partition("?")[0]
        if path.startswith("/api/") or path == "/api":
            return False
        if path == "/config.js":
            self._send(handler, config_js("", "").encode(), _TYPES[".js"])
            return True
        if path == "/" + EXAMPLES_PATH:
            self._send(handler, strategy_examples_json().encode(), "application/json")
            return True
        target = (self.root / (path.lstrip("/") or "index.html")).resolve()
        if not target.is_file() or self.root not in target.parents:
            return False
        content_type = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
        self._send(handler, target.read_bytes(), content_type or "application/octet-stream")
        return True

    @staticmethod
    def _send(handler: Any, body: bytes, content_type: str) -> None:
        handler.send_response(200)
        handler.send_header("content-type", content_type)
        handler.send_header("cache-control", "no-cache")
        handler.send_header("content-length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)
