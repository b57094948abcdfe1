"""SQS → Lambda dispatcher: the local stand-in for Lambda's event source mapping.

For every SQS event source of the template, pollers long-poll the queue, hand the batch
to the handler as a Lambda-shaped event, delete the messages that succeeded and leave
the failed ones (``batchItemFailures``, or the whole batch when the handler raised) to
reappear after the queue's visibility timeout. The redrive to the dead-letter queue after
``maxReceiveCount`` receives is moto's own (verified by tests/integration), as on AWS.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from infra.local.errorlog import RepeatedErrors
from infra.local.sandbox import SandboxStopped

log = logging.getLogger("local.sqs")
POLL_WAIT_S = 1  # long poll; short so that a stop request is honoured within ~1 s


class Invoker(Protocol):
    """A function the harness can invoke (``sandbox.FunctionPool``; in-process in tests)."""

    spec: Any

    def invoke(self, event: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class Source:
    """One event source mapping: a queue feeding a function with ``pollers`` threads."""

    function: Invoker
    queue_logical_id: str
    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool
    pollers: int


class Dispatcher:
    """Runs the pollers of every source until ``stop()``."""

    def __init__(
        self, sources: list[Source], client_factory: Callable[[], Any], region: str
    ) -> None:
        self._sources = sources
        self._client_factory = client_factory
        self._region = region
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors = RepeatedErrors(log)  # a failing queue: one line per interval

    def start(self) -> None:
        for source in self._sources:
            for index in range(source.pollers):
                thread = threading.Thread(
                    target=self._poll, args=(source,), daemon=True,
                    name=f"sqs-{source.function.spec.logical_id}-{index}",
                )
                thread.start()
                self._threads.append(thread)
            log.info("sqs %s <- %s: %d poller(s), batch %d", source.function.spec.logical_id,
                     source.queue_logical_id, source.pollers, source.batch_size)

    def request_stop(self) -> None:
        """Tell every poller to stop after its current long poll or batch (returns at once)."""
        self._stop.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask every poller to stop and wait up to ``timeout_s`` for in-flight batches."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        busy = [t.name for t in self._threads if t.is_alive()]
        if busy:
            log.warning("sqs pollers still busy at shutdown: %s", ", ".join(busy))

    def problem(self) -> str | None:
        """Why the dispatcher is not working right now (a poller thread died, or a queue
        cannot be read), or None (the health check, docs/local.md)."""
        if self._stop.is_set():
            return None
        dead = [t.name for t in self._threads if not t.is_alive()]
        if dead:
            return f"sqs poller(s) stopped: {', '.join(dead)}"
        failing = self.errors.failing()
        return "; ".join(f"{key} {why}" for key, why in failing.items()) or None

    def _poll(self, source: Source) -> None:
        sqs = self._client_factory()  # one client per thread, created off the startup path
        while not self._stop.is_set():
            try:
                response = sqs.receive_message(
                    QueueUrl=source.queue_url,
                    MaxNumberOfMessages=min(source.batch_size, 10),
                    WaitTimeSeconds=POLL_WAIT_S,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception as exc:  # emulator stopping or restarting, or a transient error
                if self._stop.is_set():
                    return
                self.errors.failed(f"sqs receive from {source.queue_logical_id}", exc)
                self._stop.wait(1.0)
                continue
            self.errors.ok(f"sqs receive from {source.queue_logical_id}")
            messages = response.get("Messages") or []
            if messages:
                self._deliver(source, sqs, messages)

    def _deliver(self, source: Source, sqs: Any, messages: list[dict[str, Any]]) -> None:
        started = time.perf_counter()
        event = {"Records": [sqs_record(m, source.queue_arn, self._region) for m in messages]}
        ids = [m["MessageId"] for m in messages]
        try:
            result = source.function.invoke(event)
            failed = failed_ids(result, ids) if source.report_batch_item_failures else set()
        except SandboxStopped:  # the stack is stopping: the batch stays in the queue
            failed = set(ids)
        except Exception as exc:  # raised, timed out or its sandbox died: retry the whole batch
            log.error("%s failed: %s\n%s", source.function.spec.logical_id, exc,
                      getattr(exc, "trace", "") or traceback.format_exc())
            failed = set(ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        key = f"sqs delete on {source.queue_logical_id}"
        try:
            for start in range(0, len(done), 10):
                sqs.delete_message_batch(
                    QueueUrl=source.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                             for i, m in enumerate(done[start:start + 10])],
                )
        except Exception as exc:  # the messages come back: a stale delivery is harmless
            self.errors.failed(key, exc)
        else:
            self.errors.ok(key)
        log.info("sqs %s <- %s: messages=%d failures=%d (%.1f ms)",
                 source.function.spec.logical_id, source.queue_logical_id, len(messages),
                 len(failed), (time.perf_counter() - started) * 1000)


def failed_ids(result: Any, ids: list[str]) -> set[str]:
    """Message ids to retry, from a ReportBatchItemFailures response.

    As Lambda: no/empty ``batchItemFailures`` → all succeeded; an item without a known
    ``itemIdentifier`` makes the whole batch fail.
    """
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return set()
    failed: set[str] = set()
    for item in result["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if identifier not in ids:
            log.warning("invalid batchItemFailures item %r: the whole batch fails", item)
            return set(ids)
        failed.add(identifier)
    return failed


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One ``Records`` entry of a Lambda SQS event, from a ReceiveMessage message."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType"),
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return out
