"""DynamoDB Streams → Lambda: the local stand-in for a stream event source mapping.

For every ``Type: DynamoDB`` event of the template, one thread polls moto's stream of
that table (``dynamodbstreams`` GetShardIterator LATEST → GetRecords, the API a real
event source mapping uses), filters on the event's ``FilterCriteria`` eventName, and
invokes the function with a Lambda-shaped ``{"Records": [...]}`` batch. With
``ReportBatchItemFailures`` the batch is retried from the first failed record (as Lambda
does), up to ``MaximumRetryAttempts`` times with a short backoff; then it is skipped and
logged (Lambda would send it to an on-failure destination).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infra.local.sandbox import SandboxStopped
from infra.local.template_model import StreamSourceSpec

log = logging.getLogger("local.streams")
IDLE_POLL_S = 0.1  # between empty GetRecords calls; a progress message waits at most this
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

    def start(self) -> None:
        """Take a LATEST iterator of every shard now (before any write to watch), then poll."""
        for source in self._sources:
            ddb, streams = self._client("dynamodb"), self._client("dynamodbstreams")
            arn = ddb.describe_table(TableName=source.table_name)["Table"]["LatestStreamArn"]
            shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
            iterators = [streams.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"],
                                                    ShardIteratorType="LATEST")["ShardIterator"]
                         for s in shards]
            name = f"stream-{source.function.spec.logical_id}-{source.spec.table_logical_id}"
            thread = threading.Thread(target=self._poll, args=(source, arn, streams, iterators),
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

    def _poll(self, source: StreamSource, arn: str, streams: Any, iterators: list[str]) -> None:
        while not self._stop.is_set():
            busy = False
            for i, iterator in enumerate(iterators):
                try:
                    page = streams.get_records(ShardIterator=iterator,
                                               Limit=source.spec.batch_size)
                except Exception:  # moto stopping, or a hiccup: try again next round
                    if not self._stop.is_set():
                        log.warning("GetRecords failed on %s", arn, exc_info=True)
                    continue
                iterators[i] = page.get("NextShardIterator") or iterator
                records = [_lambda_record(r, arn) for r in page.get("Records", [])
                           if not source.spec.event_names
                           or r.get("eventName") in source.spec.event_names]
                if records:
                    busy = True
                    self._deliver(source, records)
            if not busy:
                self._stop.wait(IDLE_POLL_S)

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


def _lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it (epoch seconds, eventSourceARN)."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": change, "eventSourceARN": stream_arn}
