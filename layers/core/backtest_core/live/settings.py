"""Settings of the WebSocket functions, read once at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache

from pydantic import BaseModel, Field


class LiveSettings(BaseModel):
    """``callback_url`` is the API Gateway management endpoint
    (``https://{api}.execute-api.{region}.amazonaws.com/{stage}``); only the push function
    needs it. Connections live at most 2 h (API Gateway's limit), so that is their TTL."""

    tasks_table: str
    connections_table: str
    callback_url: str | None = None
    task_ttl_hours: float = Field(default=168, gt=0)
    connection_ttl_s: int = Field(default=7200, ge=60)
    delivery_lock_s: float = Field(default=10.0, gt=0,
                                   description="how long one delivery may hold a connection")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LiveSettings:
        env = os.environ if environ is None else environ
        mapping = {
            "tasks_table": "TASKS_TABLE",
            "connections_table": "CONNECTIONS_TABLE",
            "callback_url": "WEBSOCKET_CALLBACK_URL",
            "task_ttl_hours": "TASK_TTL_HOURS",
            "connection_ttl_s": "CONNECTION_TTL_S",
        }
        return cls.model_validate({f: env[v] for f, v in mapping.items() if env.get(v)})


@cache
def live_settings() -> LiveSettings:
    return LiveSettings.from_env()
