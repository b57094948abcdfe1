"""The Tasks table: SPEC §6 as conditional writes. A lost race is never an overwrite.

Every transition names its allowed source states in a ``ConditionExpression``; when the
condition fails, the current record is returned inside ``TransitionRefused`` so the caller
answers from it. Records past ``expires_at`` are treated as gone (DynamoDB deletes them
up to days late; moto never does).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from backtest_core.errors import TransitionRefused
from backtest_core.models import BacktestRequest, TaskRecord, TaskStatus
from backtest_core.timeutil import epoch_s, iso

OWNER_INDEX = "owner-created_at-index"
# DynamoDB refuses (ValidationException) a partition key over 2048 bytes, even on reads;
# such an id can never exist, so it reads as missing instead of a 500 (moto does not check).
MAX_KEY_BYTES = 2048


def _storable(task_id: str) -> bool:
    return 0 < len(task_id.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES


class TaskRepository:
    """Data access for task records. ``table`` is a boto3 DynamoDB client; times are UTC."""

    def __init__(self, ddb: Any, table: str, ttl_hours: float):
        self._ddb = ddb
        self._table = table
        self._ttl = timedelta(hours=ttl_hours)

    # --- reads -------------------------------------------------------------------------
    def get(self, task_id: str, now: datetime) -> TaskRecord | None:
        """The live record, or None when missing or past ``expires_at``."""
        if not _storable(task_id):
            return None
        resp = self._ddb.get_item(
            TableName=self._table, Key={"task_id": {"S": task_id}}, ConsistentRead=True
        )
        return _live(resp.get("Item"), now)

    def get_from_item(self, item: dict[str, Any], now: datetime) -> TaskRecord | None:
        """Parse a raw item (e.g. from the owner index); None when expired."""
        return _live(item, now)

    @staticmethod
    def lease_is_live(record: TaskRecord, now: datetime) -> bool:
        return record.lease_expires_at is not None and record.lease_expires_at >= epoch_s(now)

    @staticmethod
    def is_expired(record: TaskRecord, now: datetime) -> bool:
        return record.expires_at <= epoch_s(now)

    def page_for_owner(
        self, owner: str, limit: int, start_key: dict | None
    ) -> tuple[list[dict[str, Any]], dict | None]:
        """One page of the owner's raw items, newest first (GSI owner + created_at)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": "#o = :o",
            "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":o": {"S": owner}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        resp = self._ddb.query(**kwargs)
        return resp.get("Items", []), resp.get("LastEvaluatedKey")

    # --- transitions ---------------------------------------------------------------------
    def create(self, task_id: str, owner: str, request: BacktestRequest, now: datetime,
               shards_total: int = 0, shard_size: int = 0) -> TaskRecord:
        record = TaskRecord(
            task_id=task_id, owner=owner, status=TaskStatus.QUEUED, request=request,
            created_at=iso(now), updated_at=iso(now), expires_at=self._expiry(now),
            symbols_total=len(request.symbols), shards_total=shards_total,
            shard_size=shard_size,
        )
        item = _to_item(record)
        self._ddb.put_item(
            TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(task_id)"
        )
        return record

    def claim(self, task_id: str, now: datetime, lease_s: int) -> TaskRecord:
        """queued → running, or take over a running task whose lease has expired."""
        return self._update(
            task_id,
            "SET #s = :running, attempt = if_not_exists(attempt, :zero) + :one, "
            "lease_expires_at = :lease, started_at = if_not_exists(started_at, :now), "
            "stage = if_not_exists(stage, :stage), updated_at = :now REMOVE last_error",
            "(#s = :queued OR (#s = :running AND lease_expires_at < :epoch)) AND expires_at > :epoch",
            {":running": "running", ":queued": "queued", ":zero": 0, ":one": 1,
             ":lease": epoch_s(now) + lease_s, ":now": iso(now), ":epoch": epoch_s(now),
             ":stage": "loading_data"},
        )

    def adopt(self, task_id: str, attempt: int, now: datetime, lease_s: int) -> TaskRecord:
        """A Fargate container takes up the attempt the worker claimed for it (no new claim):
        only while that attempt still owns the task; renews the lease."""
        return self._update(
            task_id, "SET lease_expires_at = :lease, updated_at = :now",
            "#s = :running AND attempt = :attempt AND expires_at > :epoch",
            {":lease": epoch_s(now) + lease_s, ":now": iso(now), ":running": "running",
             ":attempt": attempt, ":epoch": epoch_s(now)},
        )

    def heartbeat(self, task_id: str, attempt: int, now: datetime, lease_s: int) -> TaskRecord:
        return self._update(
            task_id, "SET lease_expires_at = :lease",
            "#s = :running AND attempt = :attempt",
            {":lease": epoch_s(now) + lease_s, ":running": "running", ":attempt": attempt},
        )

    def progress(
        self, task_id: str, attempt: int, fraction: float, stage: str, symbols_done: int,
        now: datetime, lease_s: int,
    ) -> TaskRecord:
        """Monotonic progress write; also renews the lease (it is a heartbeat)."""
        return self._update(
            task_id,
            "SET progress = :p, stage = :stage, symbols_done = :done, updated_at = :now, "
            "lease_expires_at = :lease",
            "#s = :running AND attempt = :attempt AND progress <= :p",
            {":p": Decimal(str(round(fraction, 4))), ":stage": stage, ":done": symbols_done,
             ":now": iso(now), ":lease": epoch_s(now) + lease_s, ":running": "running",
             ":attempt": attempt},
        )

    def release_lease(self, task_id: str, attempt: int, now: datetime, error: str) -> TaskRecord:
        """A transient failure: let the redelivered message take over at once."""
        return self._update(
            task_id, "SET lease_expires_at = :epoch, last_error = :err, updated_at = :now",
            "#s = :running AND attempt = :attempt",
            {":epoch": epoch_s(now) - 1, ":err": error[:1000], ":now": iso(now),
             ":running": "running", ":attempt": attempt},
        )

    def complete(
        self, task_id: str, attempt: int, result_key: str, summary: dict[str, Any], now: datetime
    ) -> TaskRecord:
        return self._update(
            task_id,
            "SET #s = :completed, progress = :one, stage = :stage, result_key = :key, "
            "summary = :summary, symbols_done = symbols_total, finished_at = :now, "
            "updated_at = :now, expires_at = :exp REMOVE lease_expires_at",
            "#s = :running AND attempt = :attempt",
            {":completed": "completed", ":one": 1, ":stage": "completed", ":key": result_key,
             ":summary": json.dumps(summary), ":now": iso(now), ":exp": self._expiry(now),
             ":running": "running", ":attempt": attempt},
        )

    def fail(self, task_id: str, error: str, now: datetime, attempt: int | None = None) -> TaskRecord:
        """queued|running → failed. With ``attempt``, only if that attempt still owns it."""
        condition = "#s IN (:queued, :running)"
        values: dict[str, Any] = {":failed": "failed", ":err": error[:2000], ":now": iso(now),
                                  ":exp": self._expiry(now), ":queued": "queued",
                                  ":running": "running"}
        if attempt is not None:
            condition = "#s = :running AND attempt = :attempt"
            values[":attempt"] = attempt
            del values[":queued"]
        return self._update(
            task_id,
            "SET #s = :failed, #e = :err, finished_at = :now, updated_at = :now, "
            "expires_at = :exp REMOVE lease_expires_at",
            condition, values, names={"#e": "error"},
        )

    def cancel(self, task_id: str, owner: str, now: datetime) -> TaskRecord:
        """queued|running → cancelled, for the owner only, while the record is live."""
        return self._update(
            task_id,
            "SET #s = :cancelled, #e = :err, finished_at = :now, updated_at = :now, "
            "expires_at = :exp REMOVE lease_expires_at",
            "#s IN (:queued, :running) AND #o = :owner AND expires_at > :epoch",
            {":cancelled": "cancelled", ":err": "Task cancelled by user", ":now": iso(now),
             ":exp": self._expiry(now), ":queued": "queued", ":running": "running",
             ":owner": owner, ":epoch": epoch_s(now)},
            names={"#e": "error", "#o": "owner"},
        )

    # --- fan-out (SPEC §9) ------------------------------------------------------------------
    def start_fanout(self, task_id: str, attempt: int, execution_arn: str, shards_total: int,
                     shard_size: int, now: datetime, lease_s: int) -> TaskRecord:
        """The claimed attempt runs as a Step Functions execution of ``shards_total`` shards:
        stage ``running_shards``, no shard done yet (a takeover starts its own count)."""
        return self._update(
            task_id,
            "SET execution_arn = :arn, shards_total = :n, shard_size = :size, "
            "shards_done = :zero, stage = :stage, lease_expires_at = :lease, updated_at = :now "
            "REMOVE shards_finished",
            "#s = :running AND attempt = :attempt",
            {":arn": execution_arn, ":n": shards_total, ":size": shard_size, ":zero": 0,
             ":stage": "running_shards", ":lease": epoch_s(now) + lease_s, ":now": iso(now),
             ":running": "running", ":attempt": attempt},
        )

    def shard_done(self, task_id: str, attempt: int, shard: int, now: datetime,
                   lease_s: int) -> TaskRecord:
        """Count shard ``shard`` as finished, once (a redelivered shard is refused), and
        renew the attempt's lease. Progress is then written with ``progress``."""
        return self._update(
            task_id,
            "ADD shards_finished :ids, shards_done :one "
            "SET lease_expires_at = :lease, updated_at = :now",
            "#s = :running AND attempt = :attempt AND NOT contains(shards_finished, :id)",
            {":ids": frozenset([shard]), ":one": 1, ":id": shard,
             ":lease": epoch_s(now) + lease_s, ":now": iso(now), ":running": "running",
             ":attempt": attempt},
        )

    # --- helpers -------------------------------------------------------------------------
    def _expiry(self, now: datetime) -> int:
        return epoch_s(now + self._ttl)

    def _update(
        self, task_id: str, update: str, condition: str, values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> TaskRecord:
        if not _storable(task_id):
            raise TransitionRefused(task_id, None)
        try:
            resp = self._ddb.update_item(
                TableName=self._table,
                Key={"task_id": {"S": task_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status", **(names or {})},
                ExpressionAttributeValues={k: _attr(v) for k, v in values.items()},
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item")
            if old is None:  # not every emulator returns ALL_OLD: read it
                old = self._ddb.get_item(
                    TableName=self._table, Key={"task_id": {"S": task_id}}, ConsistentRead=True
                ).get("Item")
            raise TransitionRefused(task_id, _record(old) if old else None) from None
        return _record(resp["Attributes"])


def _live(item: dict | None, now: datetime) -> TaskRecord | None:
    if not item:
        return None
    record = _record(item)
    return None if record.expires_at <= epoch_s(now) else record


def _attr(value: Any) -> dict[str, Any]:
    if isinstance(value, frozenset):  # a number set
        return {"NS": [str(v) for v in sorted(value)]}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": str(value)}
    return {"S": str(value)}


def _to_item(record: TaskRecord) -> dict[str, Any]:
    data = record.model_dump(mode="json", exclude_none=True)
    data["request"] = record.request.canonical_json()
    if record.summary is not None:
        data["summary"] = record.summary.model_dump_json()
    return {k: _attr(v) for k, v in data.items() if not isinstance(v, dict | list)}


def _record(item: dict[str, Any]) -> TaskRecord:
    data: dict[str, Any] = {}
    for key, attr in item.items():
        (kind, raw), = attr.items()
        data[key] = float(raw) if kind == "N" else raw
    for key in ("attempt", "expires_at", "lease_expires_at", "symbols_total", "symbols_done",
                "shards_total", "shards_done", "shard_size"):
        if key in data:
            data[key] = int(data[key])
    if isinstance(data.get("summary"), str):
        data["summary"] = json.loads(data["summary"])
    return TaskRecord.model_validate(data)
