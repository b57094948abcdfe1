"""Wires live progress and the console into the local stack (one call from stack.py).

- the WebSocket gateway (websocket.py) and the console files (console.py) become hooks of
  the HTTP server, so both share the API's port;
- the push function's ``WEBSOCKET_CALLBACK_URL`` points at the gateway's management API;
- a poller per DynamoDB stream event source of the template (streams.py) feeds it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from infra.local.console import ConsoleFiles
from infra.local.streams import StreamPoller, StreamSource
from infra.local.websocket import MANAGEMENT_PREFIX, WebSocketGateway

log = logging.getLogger("local.live")


@dataclass
class LiveParts:
    gateway: WebSocketGateway | None
    poller: StreamPoller

    def request_stop(self) -> None:
        self.poller.request_stop()

    def stop(self) -> None:
        self.poller.stop()


def set_callback_url(specs: list[Any], host: str, port: int) -> None:
    """Point the push function(s) at the gateway's management API. Call it before the
    functions start when the port is known (their settings are read at cold start)."""
    if not port:
        return
    host = "127.0.0.1" if host in ("", "0.0.0.0") else host
    callback = f"http://{host}:{port}{MANAGEMENT_PREFIX}"
    for spec in specs:
        if spec.stream_sources:
            spec.environment["WEBSOCKET_CALLBACK_URL"] = callback
            os.environ["WEBSOCKET_CALLBACK_URL"] = callback  # in-process handlers read it here


def start_live(emu: Any, functions: dict[str, Any], api: Any) -> LiveParts:
    """Hook the gateway and console into ``api`` and start the stream pollers."""
    by_route = {route: fn for fn in functions.values() for route in fn.spec.websocket_routes}
    gateway = None
    if "$connect" in by_route and "$disconnect" in by_route:
        gateway = WebSocketGateway(by_route["$connect"], by_route["$disconnect"])
        api.hooks.append(gateway.handle)
    api.hooks.append(ConsoleFiles().handle)
    host, port = api.server_address[:2]
    set_callback_url([fn.spec for fn in functions.values()], host, port)
    tables = {t.logical_id: t.name for t in emu.model.tables}
    sources = [StreamSource(fn, s, tables[s.table_logical_id])
               for fn in functions.values() for s in fn.spec.stream_sources]
    poller = StreamPoller(sources, emu.client)
    poller.start()
    return LiveParts(gateway=gateway, poller=poller)
