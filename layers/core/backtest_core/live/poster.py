"""Posting to WebSocket connections through API Gateway's management API.

The same boto3 calls reach the local stack's WebSocket server, which answers the
``/@connections/{id}`` routes like API Gateway (infra/local/websocket.py).
"""

from __future__ import annotations

from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import ClientError


class ConnectionGone(Exception):
    """The client is no longer connected (API Gateway's GoneException, HTTP 410)."""


class Poster(Protocol):
    def post(self, connection_id: str, data: bytes) -> None: ...
    def close(self, connection_id: str) -> None: ...


class ManagementApiPoster:
    """``PostToConnection`` / ``DeleteConnection`` (closes the socket with code 1000)."""

    def __init__(self, callback_url: str, client: Any | None = None):
        if client is None:
            import boto3

            # endpoint_url given explicitly: AWS_ENDPOINT_URL (moto, locally) must not win
            client = boto3.session.Session().client(
                "apigatewaymanagementapi", endpoint_url=callback_url,
                config=Config(connect_timeout=2, read_timeout=5,
                              retries={"max_attempts": 3, "mode": "standard"}),
            )
        self._client = client

    def post(self, connection_id: str, data: bytes) -> None:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "GoneException":
                raise ConnectionGone(connection_id) from None
            raise

    def close(self, connection_id: str) -> None:
        try:
            self._client.delete_connection(ConnectionId=connection_id)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "GoneException":
                raise
