"""Connect, disconnect and push (docs/live.md).

- ``connect``: the task must exist and belong to the caller (else TaskNotFound, which the
  WebSocket edge turns into close 4404 "Task not found: {id}"); stores the connection.
- A new connection item (the Connections table's stream, INSERT) → ``deliver``: the
  snapshot, message ``seq`` 1.
- A task change (the Tasks table's stream) → ``deliver`` to each connection watching the
  task, when it is news (``messages.is_news``).
- The terminal message (completed, failed, cancelled) is the last: then the connection is
  closed (code 1000) and its item deleted.

``deliver`` holds a per-connection lock while it posts, so two deliveries (the snapshot
and a change, which arrive through different streams) can never post out of order or
twice under one ``seq``; after releasing it re-reads the task, so a change that arrived
while the lock was held is not lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backtest_core.errors import TaskNotFound
from backtest_core.live.connections import Connection, ConnectionRepository
from backtest_core.live.messages import is_news, message, sent_mark
from backtest_core.live.poster import ConnectionGone, Poster
from backtest_core.live.settings import LiveSettings
from backtest_core.models import TaskRecord
from backtest_core.observability import logger
from backtest_core.repository import TaskRepository
from backtest_core.timeutil import iso, utc_now

HANDSHAKE_GRACE_S = 10.0  # a post this soon after $connect may precede the handshake


@dataclass
class LiveServices:
    settings: LiveSettings
    tasks: TaskRepository
    connections: ConnectionRepository
    poster: Poster | None = None  # only the push function posts
    clock: Callable[[], datetime] = utc_now

    @classmethod
    def from_settings(cls, cfg: LiveSettings, with_poster: bool = False) -> LiveServices:
        from backtest_core import aws
        from backtest_core.live.poster import ManagementApiPoster

        poster = None
        if with_poster:
            if not cfg.callback_url:
                raise ValueError("WEBSOCKET_CALLBACK_URL is required by the push function")
            poster = ManagementApiPoster(cfg.callback_url)
        ddb = aws.client("dynamodb")
        return cls(settings=cfg, tasks=TaskRepository(ddb, cfg.tasks_table, cfg.task_ttl_hours),
                   connections=ConnectionRepository(ddb, cfg.connections_table), poster=poster)


def connect(task_id: str, owner: str, connection_id: str, svc: LiveServices) -> Connection:
    """Store a connection to the caller's own live task; TaskNotFound otherwise."""
    now = svc.clock()
    record = svc.tasks.get(task_id, now)
    if record is None or record.owner != owner:
        raise TaskNotFound(task_id)
    conn = Connection(connection_id=connection_id, task_id=task_id, owner=owner,
                      connected_at=iso(now),
                      expires_at=int(now.timestamp()) + svc.settings.connection_ttl_s)
    svc.connections.create(conn)
    logger.info("connected", extra={"task_id": task_id, "connection_id": connection_id})
    return conn


def disconnect(connection_id: str, svc: LiveServices) -> None:
    svc.connections.delete(connection_id)


def on_task_image(image: dict[str, Any], svc: LiveServices) -> int:
    """A Tasks-table stream image (DynamoDB JSON): push it where it is news. Returns the
    number of connections delivered to."""
    record = svc.tasks.get_from_item(image, svc.clock())
    if record is None:
        return 0
    now_s = svc.clock().timestamp()
    targets = [c for c in svc.connections.for_task(record.task_id, now_s)
               if c.seq > 0 and is_news(c.sent, record)]  # seq 0: its snapshot is coming
    for conn in targets:
        deliver(conn.connection_id, svc, record)
    return len(targets)


def on_new_connection(connection_id: str, svc: LiveServices) -> None:
    """A new Connections item: send the snapshot (read fresh)."""
    deliver(connection_id, svc)


def deliver(connection_id: str, svc: LiveServices, record: TaskRecord | None = None) -> None:
    """Bring one connection up to date: post what is news, then re-check; close after the
    terminal message. ``record`` is a stream image (None: read the task)."""
    assert svc.poster is not None, "deliver needs a poster"
    while True:  # ends: nothing new, terminal, or gone (a task's news is finite: monotonic)
        now = svc.clock()
        conn = svc.connections.lock(connection_id, now.timestamp(), svc.settings.delivery_lock_s)
        if conn is None:
            return  # gone, or held by a delivery that re-checks after releasing it
        try:
            if record is None or conn.seq == 0 or not is_news(conn.sent, record):
                record = svc.tasks.get(conn.task_id, now)
            if record is None or record.owner != conn.owner:
                _close(conn, svc)  # expired meanwhile: nothing more will ever come
                return
            if conn.seq > 0 and not is_news(conn.sent, record):
                svc.connections.unlock(connection_id)
                # A change written after our read found the lock held and left it to us:
                # look once more now that the lock is free (else its message is lost).
                record = svc.tasks.get(conn.task_id, svc.clock())
                if record is None or not is_news(conn.sent, record):
                    return
                continue
            seq = conn.seq + 1
            svc.poster.post(connection_id, json.dumps(message(record, seq)).encode())
            if record.status.terminal:
                _close(conn, svc)
                return
            svc.connections.commit(connection_id, seq, sent_mark(record))
        except ConnectionGone:
            if conn.seq == 0 and _age_s(conn, now) < HANDSHAKE_GRACE_S:
                svc.connections.unlock(connection_id)
                raise NotYetConnected(connection_id) from None
            logger.info("connection gone", extra={"connection_id": connection_id})
            svc.connections.delete(connection_id)
            return
        except BaseException:
            svc.connections.unlock(connection_id)
            raise
        record = None  # re-check against a fresh read


class NotYetConnected(Exception):
    """The snapshot was posted before API Gateway finished the handshake (410 for a
    connection stored moments ago): the stream record is retried (batch item failure)."""


def _age_s(conn: Connection, now: datetime) -> float:
    try:
        return (now - datetime.fromisoformat(conn.connected_at)).total_seconds()
    except ValueError:
        return float("inf")


def _close(conn: Connection, svc: LiveServices) -> None:
    assert svc.poster is not None
    svc.connections.delete(conn.connection_id)  # first: nothing can be posted after this
    svc.poster.close(conn.connection_id)


def stream_images(records: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """NewImages of the INSERT/MODIFY records of a DynamoDB stream batch."""
    for rec in records:
        image = (rec.get("dynamodb") or {}).get("NewImage")
        if rec.get("eventName") in ("INSERT", "MODIFY") and image:
            yield image
