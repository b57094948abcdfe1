"""Run one queued task: claim, run the engine with progress/cancel, store, complete.

``engine`` is an ``EnginePort`` (backtest_core.engine_port): it raises
``PermanentTaskError`` for bad data/params and ``TaskCancelled`` when ``should_cancel()``
turned true. Only AWS throttling/5xx/connection errors are transient
(``faults.is_transient``): the lease is released and the exception propagates so SQS
redelivers (then the DLQ). Any other exception is permanent: the task fails at once with a
plain message (docs/operations.md).

A run of two or more symbols runs one symbol at a time and keeps each finished symbol's
document under the task's results prefix (``units/{symbol}.json``); a retry (attempt > 1)
loads them and runs only the remaining symbols (docs/local.md, "Retries that resume").
"""

from __future__ import annotations

import time
from typing import Any, Literal

from backtest_core.engine_port import Document, EnginePort, summary_of_backtest
from backtest_core.errors import PermanentTaskError, TaskCancelled, TransitionRefused
from backtest_core.faults import describe, is_transient
from backtest_core.models import QueueMessage, ResultSummary, TaskRecord, TaskStatus
from backtest_core.observability import MetricUnit, count, logger, traced
from backtest_core.services import Services
from backtest_core.usecases.progress import AttemptControl

Outcome = Literal["completed", "failed", "cancelled", "skipped", "lease_lost", "handed_off",
                  "watching", "fanned_out"]
Engine = EnginePort  # the name the Fargate entry and older callers use


def run_task(message: QueueMessage, engine: Engine, svc: Services) -> Outcome:
    """Process one delivery of ``message``; idempotent under redelivery."""
    logger.set_correlation_id(message.task_id)
    record = claim_attempt(message.task_id, svc)
    if record is None:
        return "skipped"
    return run_attempt(record, engine, svc)


def run_attempt(record: TaskRecord, engine: Engine, svc: Services) -> Outcome:
    """Run an attempt this process owns (claimed here, or adopted by the Fargate container):
    heartbeat, progress, cancel checks, per-attempt result key, conditional completion."""
    started = time.monotonic()
    with AttemptControl(svc, record) as control:
        try:
            with traced("engine.run", svc.settings.tracing_enabled):
                units = FinishedSymbols(record, svc) if len(record.request.symbols) > 1 else None
                document = engine.run(
                    record.request, svc.candles, run_id=record.task_id,
                    progress=control.report, should_cancel=control.should_cancel,
                    environment=svc.settings.environment, units=units,
                    rows_as_json=True,  # only summarised and stored (results.put)
                )
            control.report(0.9, "saving_results")
            if control.should_cancel():
                raise TaskCancelled("stopped before saving")
            # Inside the try: an S3/DynamoDB error while saving is transient like any other.
            return _complete(record, document, svc, time.monotonic() - started)
        except TaskCancelled:
            logger.info("stopped: " + (control.stopped_reason or "cancelled"))
            return "lease_lost" if control.stopped_reason == "lease_lost" else "cancelled"
        except PermanentTaskError as exc:
            return fail_attempt(record, str(exc), svc)
        except Exception as exc:
            if not is_transient(exc):  # a bug or bad input: retrying cannot help
                logger.exception("permanent failure", extra={"task_id": record.task_id})
                return fail_attempt(record, f"Backtest failed: {describe(exc)}", svc)
            release(record, exc, svc)
            raise


class FinishedSymbols:
    """The engine's ``UnitStore`` of one attempt: every finished symbol is stored under the
    task's prefix; a retry (attempt > 1) finds the ones an earlier attempt finished."""

    def __init__(self, record: TaskRecord, svc: Services) -> None:
        self._task_id = record.task_id
        self._attempt = record.attempt
        self._results = svc.results

    def get(self, symbol: str) -> dict[str, Any] | None:
        if self._attempt == 1:
            return None
        document = self._results.get_unit(self._task_id, symbol)
        if document is not None:
            logger.info("resumed: symbol finished by an earlier attempt", extra={
                "task_id": self._task_id, "attempt": self._attempt, "symbol": symbol})
        return document

    def put(self, symbol: str, document: dict[str, Any]) -> None:
        self._results.put_unit(self._task_id, symbol, document)


def claim_attempt(
    task_id: str, svc: Services, lease_s: int | None = None
) -> TaskRecord | None:
    """Claim (or take over) the task for a new attempt; None when another owns it or it is
    terminal/missing. ``lease_s`` defaults to ``lease_seconds``."""
    try:
        record = svc.tasks.claim(task_id, svc.clock(), lease_s or svc.settings.lease_seconds)
    except TransitionRefused as lost:
        current = lost.current
        state = current.status.value if current else "missing"
        logger.info("not claimed", extra={"task_id": task_id, "current_status": state})
        return None
    logger.info("claimed", extra={"task_id": task_id, "attempt": record.attempt})
    return record


def _complete(record: TaskRecord, document: Document, svc: Services,
              duration_s: float) -> Outcome:
    key, size = svc.results.put(record.task_id, record.attempt, document)
    return complete_with(record, key, summary_of_backtest(document, size), svc, duration_s)


def complete_with(record: TaskRecord, key: str, summary: ResultSummary, svc: Services,
                  duration_s: float) -> Outcome:
    """The completion of this attempt (docs/api.md, task lifecycle) (conditional on running + attempt); a refused
    write removes this attempt's own result object."""
    try:
        svc.tasks.complete(record.task_id, record.attempt, key,
                           summary.model_dump(mode="json"), svc.clock())
    except TransitionRefused as lost:
        svc.results.delete(key)  # this attempt's own key: cancelled or taken over meanwhile
        return stopped(lost.current)
    count("BacktestsCompleted")
    count("BacktestDuration", duration_s, MetricUnit.Seconds)
    count("CandlesProcessed", summary.candles)
    logger.info("completed", extra={"task_id": record.task_id, "duration_s": duration_s})
    return "completed"


def fail_attempt(record: TaskRecord, error: str, svc: Services) -> Outcome:
    """Fail this attempt's task with ``error``; a lost race is "cancelled"/"lease_lost".
    An AWS error of the write itself propagates (transient: SQS redelivers)."""
    try:
        svc.tasks.fail(record.task_id, error, svc.clock(), attempt=record.attempt)
    except TransitionRefused as lost:
        return stopped(lost.current)
    count("BacktestsFailed")
    logger.warning("failed", extra={"task_id": record.task_id, "error": error})
    return "failed"


def stopped(current: TaskRecord | None) -> Outcome:
    """Why a conditional write of this attempt was refused."""
    if current is None or current.status is TaskStatus.CANCELLED:
        return "cancelled"
    return "lease_lost"


def release(record: TaskRecord, exc: Exception, svc: Services) -> None:
    """A transient failure of this attempt: give the lease up so the redelivered message
    takes over at once. Best effort (the lease expires on its own)."""
    logger.exception("transient failure; SQS will redeliver", extra={"task_id": record.task_id})
    try:
        svc.tasks.release_lease(record.task_id, record.attempt, svc.clock(), describe(exc))
    except Exception:
        logger.warning("could not release lease", extra={"task_id": record.task_id})
