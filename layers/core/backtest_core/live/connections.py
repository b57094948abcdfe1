"""The Connections table: one item per open WebSocket, keyed by API Gateway's connection id.

``seq`` is the last message number sent on the connection and ``sent_*`` what that message
said, so a push sends only news. ``busy_until`` is a short per-connection lock held by
the one delivery that is posting (see ``usecases.deliver``). Items past ``expires_at``
count as gone (TTL deletion is late on AWS and never happens in moto).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

TASK_INDEX = "task_id-index"


@dataclass(frozen=True)
class Sent:
    """What the last message on a connection said (for change detection)."""

    status: str
    stage: str | None
    progress: float
    done: int
    updated_at: str


@dataclass(frozen=True)
class Connection:
    connection_id: str
    task_id: str
    owner: str
    connected_at: str
    expires_at: int
    seq: int = 0
    sent: Sent | None = None


class ConnectionRepository:
    """Data access for connection items (``ddb`` is a boto3 DynamoDB client)."""

    def __init__(self, ddb: Any, table: str):
        self._ddb = ddb
        self._table = table

    def create(self, conn: Connection) -> None:
        self._ddb.put_item(
            TableName=self._table,
            Item={"connection_id": {"S": conn.connection_id}, "task_id": {"S": conn.task_id},
                  "owner": {"S": conn.owner}, "connected_at": {"S": conn.connected_at},
                  "expires_at": {"N": str(conn.expires_at)}, "seq": {"N": "0"}},
        )

    def get(self, connection_id: str, now_s: float) -> Connection | None:
        item = self._ddb.get_item(TableName=self._table, ConsistentRead=True,
                                  Key={"connection_id": {"S": connection_id}}).get("Item")
        return _live(item, now_s)

    def for_task(self, task_id: str, now_s: float) -> list[Connection]:
        """Live connections watching ``task_id`` (the task_id index, every page)."""
        out: list[Connection] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table, "IndexName": TASK_INDEX,
            "KeyConditionExpression": "task_id = :t",
            "ExpressionAttributeValues": {":t": {"S": task_id}},
        }
        while True:
            page = self._ddb.query(**kwargs)
            out.extend(c for c in (_live(i, now_s) for i in page.get("Items", [])) if c)
            if not page.get("LastEvaluatedKey"):
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def lock(self, connection_id: str, now_s: float, hold_s: float) -> Connection | None:
        """Take the delivery lock; the connection as stored, or None when it is gone or
        another delivery holds the lock (that one re-checks the task after releasing)."""
        try:
            resp = self._ddb.update_item(
                TableName=self._table, Key={"connection_id": {"S": connection_id}},
                UpdateExpression="SET busy_until = :until",
                ConditionExpression="attribute_exists(connection_id) AND expires_at > :now_s"
                                    " AND (attribute_not_exists(busy_until) OR busy_until < :now)",
                ExpressionAttributeValues={":until": _n(now_s + hold_s), ":now": _n(now_s),
                                           ":now_s": _n(int(now_s))},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _live(resp["Attributes"], now_s)

    def commit(self, connection_id: str, seq: int, sent: Sent) -> None:
        """Record message ``seq`` and release the lock."""
        values = {":seq": _n(seq), ":st": {"S": sent.status}, ":p": _n(sent.progress),
                  ":d": _n(sent.done), ":u": {"S": sent.updated_at}}
        stage = "sent_stage = :sg, " if sent.stage is not None else ""
        if sent.stage is not None:
            values[":sg"] = {"S": sent.stage}
        self._conditional(connection_id,
                          f"SET seq = :seq, sent_status = :st, {stage}sent_progress = :p, "
                          "sent_done = :d, sent_updated_at = :u REMOVE busy_until", values)

    def unlock(self, connection_id: str) -> None:
        self._conditional(connection_id, "REMOVE busy_until", None)

    def delete(self, connection_id: str) -> None:
        self._ddb.delete_item(TableName=self._table, Key={"connection_id": {"S": connection_id}})

    def _conditional(self, connection_id: str, update: str, values: dict | None) -> None:
        kwargs: dict[str, Any] = {
            "TableName": self._table, "Key": {"connection_id": {"S": connection_id}},
            "UpdateExpression": update, "ConditionExpression": "attribute_exists(connection_id)",
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self._ddb.update_item(**kwargs)
        except ClientError as exc:  # deleted meanwhile ($disconnect): nothing to record
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


def _n(value: float | int) -> dict[str, str]:
    return {"N": str(Decimal(str(value)))}


def _live(item: dict[str, Any] | None, now_s: float) -> Connection | None:
    if not item:
        return None
    raw = {k: next(iter(v.values())) for k, v in item.items()}
    if int(raw["expires_at"]) <= now_s:
        return None
    sent = None
    if "sent_status" in raw:
        sent = Sent(status=raw["sent_status"], stage=raw.get("sent_stage"),
                    progress=float(raw.get("sent_progress", 0)), done=int(raw.get("sent_done", 0)),
                    updated_at=raw.get("sent_updated_at", ""))
    return Connection(connection_id=raw["connection_id"], task_id=raw["task_id"],
                      owner=raw["owner"], connected_at=raw.get("connected_at", ""),
                      expires_at=int(raw["expires_at"]), seq=int(raw.get("seq", 0)), sent=sent)
