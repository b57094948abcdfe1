"""DynamoDB Streams → Lambda: the local stand-in for a stream event source mapping.

For every ``Type: DynamoDB`` event of the template, one thread polls moto's stream of
that table (``dynamodbstreams`` GetShardIterator LATEST → GetRecords, the API a real
event source mapping uses), filters on the event's ``FilterCriteria`` eventName, and
invokes the function with a Lambda-shaped ``{"Records": [...]}`` batch. With
``ReportBatchItemFailures`` the batch is retried from the first failed record (as Lambda
does), up to ``MaximumRetryAttempts`` times with a short backoff; then it is skipped and
logged (Lambda would send it to an on-failure destination).

When GetRecords fails, the table's stream is looked up again: after a restart of the
emulation the table has a new stream (another ARN), read from LATEST on. Repeated
failures are logged once per interval (``errorlog.RepeatedErrors``).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infra.local.errorlog import RepeatedErrors
from infra.local.sandbox import SandboxStopped
from infra.local.template_model import StreamSourceSpec

log = logging.getLogger("local.streams")
IDLE_POLL_S = 0.1  # between empty GetRecords calls; a progress message waits at most this
FAILED_POLL_S = 1.0  # after a failed GetRecords (e.g. the emulation restarts)
RETRY_BACKOFF_S = 0.2  # doubled per retry of a failed batch


@dataclass(frozen=True)
class StreamSource:
    function: Any  # LoadedFunction (anything with .spec and .invoke(event))
    spec: StreamSourceSpec
    table_name: str


class StreamPoller:
    """One thread per stream source until ``stop()``."""

    def __init__(self, sources: list[StreamSource], client_factory: Callable[[str], Any]):
        self._sources = sources
        self._client = client_factory
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors = RepeatedErrors(log)

    def start(self) -> None:
        """Take a LATEST iterator of every shard now (before any write to watch), then poll."""
        for source in self._sources:
            ddb, streams = self._client("dynamodb"), self._client("dynamodbstreams")
            arn, iterators = _open(source.table_name, ddb, streams)
            name = f"stream-{source.function.spec.logical_id}-{source.spec.table_logical_id}"
            thread = threading.Thread(target=self._poll,
                                      args=(source, arn, ddb, streams, iterators),
                                      name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
            log.info("%s reads the stream of %s", source.function.spec.logical_id,
                     source.table_name)

    def request_stop(self) -> None:
        """Tell every poller to stop after its current batch (returns at once)."""
        self._stop.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout_s)

    def _poll(self, source: StreamSource, arn: str, ddb: Any, streams: Any,
              iterators: list[str]) -> None:
        key = f"stream of {source.table_name}"
        checked = True  # False after a failure: the stream is looked up before reading on
        while not self._stop.is_set():
            if not checked:
                arn, iterators, checked = self._reopen(source.table_name, arn, iterators, ddb,
                                                       streams, key)
                if not checked:
                    self._stop.wait(FAILED_POLL_S)
                    continue
            busy = False
            for i, iterator in enumerate(iterators):
                try:
                    page = streams.get_records(ShardIterator=iterator,
                                               Limit=source.spec.batch_size)
                except Exception as exc:  # moto stopping or restarting, or a hiccup
                    if self._stop.is_set():
                        return
                    self.errors.failed(key, exc)
                    checked = False
                    break
                self.errors.ok(key)
                iterators[i] = page.get("NextShardIterator") or iterator
                records = [_lambda_record(r, arn) for r in page.get("Records", [])
                           if not source.spec.event_names
                           or r.get("eventName") in source.spec.event_names]
                if records:
                    busy = True
                    self._deliver(source, records)
            if not busy:
                self._stop.wait(IDLE_POLL_S)

    def _reopen(self, table: str, arn: str, iterators: list[str], ddb: Any, streams: Any,
                key: str) -> tuple[str, list[str], bool]:
        """The stream and iterators to read next: new ones (from LATEST) when the table's
        stream changed (the emulation restarted), else the same ones; False while the
        table cannot be described (an old iterator is never sent to a new emulation)."""
        try:
            latest = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
            if latest == arn:
                return arn, iterators, True
            new_arn, new_iterators = _open(table, ddb, streams)
        except Exception as exc:
            self.errors.failed(key, exc)
            return arn, iterators, False
        log.info("%s: reading its new stream %s (the emulation restarted)", table, new_arn)
        return new_arn, new_iterators, True

    def _deliver(self, source: StreamSource, records: list[dict[str, Any]]) -> None:
        retries = 0
        while records and not self._stop.is_set():
            failed_from = self._invoke(source, records)
            if failed_from is None:
                return
            max_retries = source.spec.max_retries
            if 0 <= max_retries <= retries:
                log.error("%s: %d stream record(s) skipped after %d retries",
                          source.function.spec.logical_id, len(records) - failed_from, retries)
                return
            records = records[failed_from:]
            self._stop.wait(RETRY_BACKOFF_S * 2 ** retries)
            retries += 1

    def _invoke(self, source: StreamSource, records: list[dict[str, Any]]) -> int | None:
        """Index of the first record to retry, or None when the batch succeeded."""
        name = source.function.spec.logical_id
        try:
            result = source.function.invoke({"Records": records})
        except SandboxStopped:  # the stack is stopping: the records are read again at start
            return 0
        except Exception:
            log.error("%s raised on a stream batch:\n%s", name, traceback.format_exc())
            return 0
        failures = (result or {}).get("batchItemFailures") or []
        if not failures or not source.spec.report_batch_item_failures:
            return None
        failed = {f.get("itemIdentifier") for f in failures}
        index = next((i for i, r in enumerate(records)
                      if r["dynamodb"]["SequenceNumber"] in failed), 0)
        log.info("%s: retrying %d stream record(s)", name, len(records) - index)
        return index


def _open(table: str, ddb: Any, streams: Any) -> tuple[str, list[str]]:
    """The table's stream ARN and a LATEST iterator of each of its shards."""
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    return arn, [streams.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"],
                                            ShardIteratorType="LATEST")["ShardIterator"]
                 for s in shards]


def _lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it (epoch seconds, eventSourceARN)."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": change, "eventSourceARN": stream_arn}
