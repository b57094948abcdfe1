"""The local WebSocket API: ``ws://HOST:PORT/ws/backtest/{task_id}`` on the HTTP API's port.

What API Gateway's WebSocket API does, on the local HTTP server's socket:

- the HTTP handler sees ``Upgrade: websocket`` and hands its socket to ``serve_socket``,
  which speaks the protocol through the ``websockets`` library's sans-I/O
  ``ServerProtocol`` (handshake, frames, ping/pong, close);
- ``$connect``: the template's function for that route gets an API Gateway WebSocket
  event (``connectionId``, ``queryStringParameters.task_id`` from the path — API Gateway
  takes it as ``?task_id=`` — and, with ``?token=`` or an ``Authorization: Bearer``
  header, ``requestContext.authorizer.sub`` from the JWT, decoded WITHOUT verification as
  the local HTTP API does). 200 → handshake accepted; 404 → accepted, then closed with
  4404 and the function's body as reason (docs/live.md; API Gateway cannot choose close codes
  and answers the upgrade with HTTP 404 instead); anything else → the upgrade is refused
  with that status;
- the management API at ``/_ws/@connections/{id}`` (POST = PostToConnection, DELETE =
  DeleteConnection → close 1000, GET), answering 410 ``GoneException`` like API Gateway,
  so the push function's boto3 ``apigatewaymanagementapi`` client works unchanged;
- ``$disconnect`` after the socket closes, whoever closed it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from infra.local.apigw import InvalidToken, jwt_claims

log = logging.getLogger("local.websocket")
MANAGEMENT_PREFIX = "/_ws"  # the callback URL's path: {api}/_ws/@connections/{id}
_WS_PATH = re.compile(r"^/ws/backtest/(?P<task_id>[^/?]+)/?$")
_MGMT_PATH = re.compile(r"^/_ws/@connections/(?P<cid>[^/?]+)$")
_PROTOCOL_LOG = logging.getLogger("local.websocket.protocol")  # "connection open" etc.
_PROTOCOL_LOG.setLevel(logging.WARNING)
CLOSE_WAIT_S = 2.0  # after sending a close frame, how long to wait for the client's


@dataclass
class _Session:
    connection_id: str
    protocol: ServerProtocol
    sock: socket.socket
    connected_at: float
    source_ip: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing_since: float | None = None

    def flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)

    def send_text(self, data: bytes) -> bool:
        with self.lock:
            if self.protocol.state is not State.OPEN:
                return False
            self.protocol.send_text(data)
            try:
                self.flush()
            except OSError:  # a client that stopped reading: as good as gone
                with contextlib.suppress(OSError):  # and told so: no client waits forever
                    self.sock.shutdown(socket.SHUT_RDWR)
                return False
            return True

    def close(self, code: int, reason: str = "") -> bool:
        with self.lock:
            if self.protocol.state is not State.OPEN:
                return False
            self.protocol.send_close(code, reason[:120])
            self.closing_since = time.monotonic()
            self.flush()
            return True


class WebSocketGateway:
    """Open sessions by connection id, and the two entry points the HTTP handler calls."""

    def __init__(self, connect: Any, disconnect: Any) -> None:
        self._connect = connect  # LoadedFunction of $connect (anything with .invoke)
        self._disconnect = disconnect
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- HTTP handler hook
    def handle(self, handler: Any) -> bool:
        """Serve ``handler``'s request if it is ours (upgrade or management call)."""
        raw_path, _, query = handler.path.partition("?")
        mgmt = _MGMT_PATH.match(raw_path)
        if mgmt:
            self._management(handler, unquote(mgmt["cid"]))
            return True
        match = _WS_PATH.match(raw_path)
        if match and handler.headers.get("upgrade", "").lower() == "websocket":
            handler.close_connection = True  # the socket is the WebSocket's from now on
            self.serve_socket(handler, unquote(match["task_id"]), query)
            return True
        return False

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._sessions)

    # ---------------------------------------------------------------- management API
    def post(self, connection_id: str, data: bytes) -> bool:
        session = self._session(connection_id)
        return session is not None and session.send_text(data)

    def close(self, connection_id: str, code: int = 1000) -> bool:
        session = self._session(connection_id)
        return session is not None and session.close(code)

    def _session(self, connection_id: str) -> _Session | None:
        with self._lock:
            return self._sessions.get(connection_id)

    def _management(self, handler: Any, connection_id: str) -> None:
        data = getattr(handler, "request_body", None)
        if data is None:  # not read by the HTTP server yet
            length = int(handler.headers.get("content-length") or 0)
            data = handler.rfile.read(length) if length else b""
        method = handler.command
        if method == "POST":
            ok = self.post(connection_id, data)
            body = b""
        elif method == "DELETE":
            ok = self.close(connection_id)
            body = b""
        else:
            session = self._session(connection_id)
            ok = session is not None
            body = json.dumps({
                "ConnectedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                             time.gmtime(session.connected_at)),
                "Identity": {"SourceIp": session.source_ip},
            }).encode() if session else b""
        if ok:
            _reply(handler, 204 if method == "DELETE" else 200, body)
        else:
            _reply(handler, 410, json.dumps({"message": f"Connection {connection_id} is gone"})
                   .encode(), [("x-amzn-errortype", "GoneException")])

    # ---------------------------------------------------------------- a WebSocket session
    def serve_socket(self, handler: Any, task_id: str, query: str) -> None:
        protocol = ServerProtocol(max_size=65536, logger=_PROTOCOL_LOG)
        # http.server has parsed the request already; the protocol's parser must see it too
        # (it parses the HTTP request, then frames), so it is fed the same bytes again.
        head = [handler.requestline, *(f"{k}: {v}" for k, v in handler.headers.items())]
        protocol.receive_data(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        request = next((e for e in protocol.events_received() if isinstance(e, Request)), None)
        if request is None:  # not parseable as a handshake request
            _reply(handler, 400, b'{"message": "Bad WebSocket handshake"}')
            return
        response = protocol.accept(request)
        sock: socket.socket = handler.connection
        if response.status_code != 101:  # not a valid handshake: websockets says why
            protocol.send_response(response)
            _send_all(sock, protocol)
            return
        connection_id = secrets.token_urlsafe(12)
        try:
            event = self._event("$connect", "CONNECT", connection_id, handler, task_id, query)
        except InvalidToken as exc:
            self._refuse(protocol, sock, 401, "Unauthorized")
            log.warning("ws %s -> 401 %s", handler.path, exc)
            return
        status, body = self._invoke_connect(event)
        if status not in (200, 404):
            self._refuse(protocol, sock, status, body or "Forbidden")
            return
        protocol.send_response(response)
        session = _Session(connection_id, protocol, sock, time.time(), handler.client_address[0])
        with self._lock:
            self._sessions[connection_id] = session
        with session.lock:
            session.flush()
        log.info("ws %s connected as %s (%s)", handler.path.partition("?")[0], connection_id,
                 "accepted" if status == 200 else f"closing 4404: {body}")
        if status == 404:
            session.close(4404, body or f"Task not found: {task_id}")
        try:
            self._read_until_closed(session)
        finally:
            with self._lock:
                self._sessions.pop(connection_id, None)
            if status == 200:
                self._invoke_disconnect(connection_id, handler, task_id)

    def _read_until_closed(self, session: _Session) -> None:
        sock = session.sock
        sock.settimeout(0.5)
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                if (session.closing_since is not None
                        and time.monotonic() - session.closing_since > CLOSE_WAIT_S):
                    return  # the client never answered our close frame
                continue
            except OSError:
                return
            with session.lock:
                if data:
                    session.protocol.receive_data(data)
                else:
                    session.protocol.receive_eof()
                for event in session.protocol.events_received():
                    _ignore(event)  # no routes besides $connect/$disconnect: messages dropped
                try:
                    session.flush()  # pongs, the close frame's echo
                except OSError:
                    return
                if session.protocol.close_expected() or not data:
                    return

    def _refuse(self, protocol: ServerProtocol, sock: socket.socket, status: int,
                text: str) -> None:
        protocol.send_response(protocol.reject(status, text))
        _send_all(sock, protocol)

    def _invoke_connect(self, event: dict[str, Any]) -> tuple[int, str]:
        try:
            result = self._connect.invoke(event) or {}
        except Exception:
            log.exception("$connect raised")
            return 500, "Internal server error"
        return int(result.get("statusCode", 200)), str(result.get("body") or "")

    def _invoke_disconnect(self, connection_id: str, handler: Any, task_id: str) -> None:
        event = self._event("$disconnect", "DISCONNECT", connection_id, handler, task_id, "",
                            authorize=False)
        try:
            self._disconnect.invoke(event)
        except Exception:
            log.exception("$disconnect raised for %s", connection_id)

    def _event(self, route: str, kind: str, connection_id: str, handler: Any, task_id: str,
               query: str, authorize: bool = True) -> dict[str, Any]:
        """API Gateway's WebSocket proxy event (the parts our functions and Powertools read)."""
        params = dict(parse_qsl(query))
        params["task_id"] = task_id
        headers = {k.lower(): v for k, v in handler.headers.items()}
        context: dict[str, Any] = {
            "routeKey": route, "eventType": kind, "connectionId": connection_id,
            "messageDirection": "IN", "stage": "local", "apiId": "local",
            "domainName": headers.get("host", "localhost"),
            "requestId": uuid.uuid4().hex[:16], "requestTimeEpoch": int(time.time() * 1000),
            "connectedAt": int(time.time() * 1000),
            "identity": {"sourceIp": handler.client_address[0]},
        }
        if authorize:
            token = params.pop("token", "")
            bearer = f"Bearer {token}" if token else headers.get("authorization", "")
            claims = jwt_claims(bearer)
            if claims is not None:
                sub = claims.get("sub", "")
                if not sub or len(sub) > 256:  # as the deployed authorizer: no usable owner
                    raise InvalidToken("the token has no usable sub claim")
                context["authorizer"] = {"principalId": sub, "sub": sub}
        event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
        if route == "$connect":
            event["headers"] = headers
            event["queryStringParameters"] = params
        return event


def _ignore(event: Any) -> None:
    if isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
        log.debug("ws message from client ignored (%d bytes)", len(event.data))


def _send_all(sock: socket.socket, protocol: ServerProtocol) -> None:
    try:
        for data in protocol.data_to_send():
            if data:
                sock.sendall(data)
    except OSError:
        pass


def _reply(handler: Any, status: int, body: bytes,
           headers: list[tuple[str, str]] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    for name, value in headers or []:
        handler.send_header(name, value)
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    if body:
        handler.wfile.write(body)
