"""The Tasks table: docs/api.md#task-lifecycle as conditional writes. A lost race is never an overwrite.

Every transition names its allowed source states in a ``ConditionExpression``; when the
condition fails, the current record is returned inside ``TransitionRefused`` so the caller
answers from it. Records past ``expires_at`` are treated as gone (DynamoDB deletes them
up to days late; moto never does).

``lease_expires_at`` says until when someone vouches for a live task: the queue message of
a ``queued`` task (set at create to one visibility period), the worker's attempt of a
``running`` one (claim + heartbeat). Terminal writes remove it, so the sparse index
``status-lease_expires_at-index`` holds live tasks only and the reaper finds the ones
nobody vouches for any more with a query, never a scan.

Items are converted by ``items.py`` (boto3's TypeSerializer/TypeDeserializer).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from backtest_core.errors import TransitionRefused
from backtest_core.items import from_item, to_attr, to_item
from backtest_core.models import BacktestRequest, TaskRecord, TaskStatus
from backtest_core.timeutil import epoch_s, iso

OWNER_INDEX = "owner-created_at-index"
LEASE_INDEX = "status-lease_expires_at-index"  # sparse: live tasks only (see module doc)
# DynamoDB refuses (ValidationException) a partition key over 2048 bytes, even on reads;
# such an id can never exist, so it reads as missing instead of a 500 (moto does not check).
MAX_KEY_BYTES = 2048


def _storable(task_id: str) -> bool:
    return 0 < len(task_id.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES


class TaskRepository:
    """Data access for task records. ``table`` is a boto3 DynamoDB client; times are UTC."""

    def __init__(self, ddb: Any, table: str, ttl_hours: float, queued_lease_s: int = 5400):
        self._ddb = ddb
        self._table = table
        self._ttl = timedelta(hours=ttl_hours)
        self._queued_lease_s = queued_lease_s  # the jobs queue's visibility timeout

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

    def unvouched(self, status: TaskStatus, now: datetime, limit: int) -> list[TaskRecord]:
        """Up to ``limit`` live ``status`` tasks whose lease expired before ``now``, oldest
        lease first (a query of the sparse lease index)."""
        records: list[TaskRecord] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table, "IndexName": LEASE_INDEX,
            "KeyConditionExpression": "#s = :s AND lease_expires_at < :now",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": status.value},
                                          ":now": {"N": str(epoch_s(now))}},
        }
        while len(records) < limit:
            resp = self._ddb.query(**kwargs, Limit=limit - len(records))
            records += [r for item in resp.get("Items", []) if (r := _live(item, now))]
            if not resp.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return records

    def next_lease_expiry(self, status: TaskStatus, now: datetime) -> int | None:
        """When the earliest lease of a live ``status`` task that still holds expires
        (epoch s), or None when there is none: one item of the sparse lease index."""
        resp = self._ddb.query(
            TableName=self._table, IndexName=LEASE_INDEX, Limit=1,
            KeyConditionExpression="#s = :s AND lease_expires_at >= :now",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status.value},
                                       ":now": {"N": str(epoch_s(now))}})
        items = resp.get("Items", [])
        return int(items[0]["lease_expires_at"]["N"]) if items else None

    # --- transitions ---------------------------------------------------------------------
    def create(self, task_id: str, owner: str, request: BacktestRequest, now: datetime,
               shards_total: int = 0, shard_size: int = 0) -> TaskRecord:
        record = TaskRecord(
            task_id=task_id, owner=owner, status=TaskStatus.QUEUED, request=request,
            created_at=iso(now), updated_at=iso(now), expires_at=self._expiry(now),
            symbols_total=len(request.symbols), shards_total=shards_total,
            shard_size=shard_size, lease_expires_at=epoch_s(now) + self._queued_lease_s,
        )
        item = to_item(record)
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
             ":summary": summary, ":now": iso(now), ":exp": self._expiry(now),
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

    def renew_queued(self, task_id: str, seen_lease: int, now: datetime) -> TaskRecord:
        """The reaper re-sent a queued task's message: one more visibility period. Only if
        nobody did so since ``seen_lease`` was read (at most one re-send per period)."""
        return self._update(
            task_id, "SET lease_expires_at = :lease, requeued_at = :epoch",
            "#s = :queued AND lease_expires_at = :seen AND expires_at > :epoch",
            {":lease": epoch_s(now) + self._queued_lease_s, ":epoch": epoch_s(now),
             ":queued": "queued", ":seen": seen_lease},
        )

    def mark_requeued(self, task_id: str, attempt: int, now: datetime,
                      not_since: int) -> TaskRecord:
        """The reaper re-sends a running task whose lease expired (the next claim takes it
        over as attempt + 1): only while that attempt's lease is still expired and no
        re-send happened after ``not_since`` (epoch seconds)."""
        return self._update(
            task_id, "SET requeued_at = :epoch, stage = :retrying",
            "#s = :running AND attempt = :attempt AND lease_expires_at < :epoch "
            "AND (attribute_not_exists(requeued_at) OR requeued_at <= :since) "
            "AND expires_at > :epoch",
            {":epoch": epoch_s(now), ":running": "running", ":attempt": attempt,
             ":since": not_since, ":retrying": "retrying"},
        )

    def fail_abandoned(self, task_id: str, attempt: int, error: str, now: datetime) -> TaskRecord:
        """running → failed for an attempt whose lease expired (its worker is gone)."""
        return self._update(
            task_id,
            "SET #s = :failed, #e = :err, finished_at = :now, updated_at = :now, "
            "expires_at = :exp REMOVE lease_expires_at",
            "#s = :running AND attempt = :attempt AND lease_expires_at < :epoch",
            {":failed": "failed", ":err": error[:2000], ":now": iso(now),
             ":exp": self._expiry(now), ":running": "running", ":attempt": attempt,
             ":epoch": epoch_s(now)},
            names={"#e": "error"},
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

    # --- fan-out (docs/sweeps.md) ------------------------------------------------------------------
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
                ExpressionAttributeValues={k: to_attr(v) for k, v in values.items()},
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
            raise TransitionRefused(task_id, from_item(old) if old else None) from None
        return from_item(resp["Attributes"])


def _live(item: dict | None, now: datetime) -> TaskRecord | None:
    if not item:
        return None
    record = from_item(item)
    return None if record.expires_at <= epoch_s(now) else record
