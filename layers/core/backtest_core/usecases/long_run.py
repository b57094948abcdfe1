"""Long runs on Fargate: hand a claimed attempt to a container, and watch its lease.

The worker routes a "run" message whose estimated candles reach ``fargate_min_candles`` to
``hand_off``: it claims the task like ``run_task`` (attempt + 1, but a startup lease long
enough for a container to start), starts the container with ``TASK_ID``/``ATTEMPT`` and
queues a "watch" message delayed 15 min. The container (infra/fargate/entry.py) adopts that
attempt (``run_adopted``) and runs it like the worker would, renewing the lease.

``watch`` is the lease watchdog: terminal → done; live lease → look again in 15 min;
expired lease (the container died or never started) → hand off again as attempt + 1, or
fail the task after ``MAX_ATTEMPTS``. Every step is a conditional write, so duplicate
messages, a stale container and a cancel can race safely.
"""

from __future__ import annotations

from backtest_core.errors import TransitionRefused
from backtest_core.faults import describe, is_transient
from backtest_core.models import QueueMessage, TaskRecord, TaskStatus, estimated_candles
from backtest_core.observability import count, logger
from backtest_core.queue import MAX_DELAY_S
from backtest_core.services import Services
from backtest_core.timeutil import iso
from backtest_core.usecases.run_task import (
    Engine,
    Outcome,
    claim_attempt,
    fail_attempt,
    release,
    run_attempt,
)

WATCH_DELAY_S = MAX_DELAY_S  # look again in 15 min (SQS's longest delay)
STARTUP_LEASE_S = 600  # Fargate pulls the image and starts in ~1-3 min; leave ample room
MAX_ATTEMPTS = 3  # as the jobs queue's maxReceiveCount
STOPPED_REASON = "the Fargate task stopped without finishing"


def hand_off(message: QueueMessage, svc: Services) -> Outcome:
    """Claim the task and start a container for the new attempt; "skipped" when another
    owns it or it is terminal. A failed launch releases the lease and raises (SQS retries)."""
    logger.set_correlation_id(message.task_id)
    if svc.launcher is None:
        raise RuntimeError("a long run needs a launcher: set FARGATE_CLUSTER and friends")
    lease_s = max(svc.settings.lease_seconds, STARTUP_LEASE_S)
    record = claim_attempt(message.task_id, svc, lease_s)
    if record is None:
        return "skipped"
    try:
        # The watch goes first: once the claim holds, a lost watch would leave nobody to
        # notice a container that dies (a spare watch is harmless: it stops at terminal).
        _send_watch(record, svc)
        container = svc.launcher.launch(record.task_id, record.attempt)
    except Exception as exc:
        if not is_transient(exc):  # e.g. an invalid task definition: retrying cannot help
            logger.exception("Fargate launch failed", extra={"task_id": record.task_id})
            return fail_attempt(record, f"Backtest failed: could not start the long run: "
                                 f"{describe(exc)}", svc)
        release(record, exc, svc)
        raise
    logger.info("handed off to Fargate", extra={"task_id": record.task_id,
                                                "attempt": record.attempt,
                                                "container": container})
    return "handed_off"


def watch(message: QueueMessage, svc: Services) -> Outcome:
    """The lease watchdog of a handed-off task (see the module docstring)."""
    logger.set_correlation_id(message.task_id)
    now = svc.clock()
    record = svc.tasks.get(message.task_id, now)
    if record is None or record.status is not TaskStatus.RUNNING:
        return "skipped"  # terminal (or never claimed): nothing to watch
    if svc.tasks.lease_is_live(record, now):
        _send_watch(record, svc)
        return "watching"
    if record.attempt < MAX_ATTEMPTS:
        logger.warning("Fargate lease expired; relaunching",
                       extra={"task_id": record.task_id, "attempt": record.attempt})
        return hand_off(message, svc)
    error = f"Backtest failed after {record.attempt} attempts: {record.last_error or STOPPED_REASON}"
    try:
        svc.tasks.fail(record.task_id, error, now, attempt=record.attempt)
    except TransitionRefused:
        return "skipped"  # it finished, was cancelled or taken over meanwhile
    count("BacktestsFailed")
    logger.warning("failed", extra={"task_id": record.task_id, "error": error})
    return "failed"


def run_adopted(task_id: str, attempt: int, engine: Engine, svc: Services) -> Outcome:
    """The container's use case: adopt ``attempt`` (claimed by ``hand_off``) and run it.
    "skipped" when that attempt no longer owns the task (cancelled, superseded, expired)."""
    logger.set_correlation_id(task_id)
    try:
        record = svc.tasks.adopt(task_id, attempt, svc.clock(), svc.settings.lease_seconds)
    except TransitionRefused as lost:
        state = lost.current.status.value if lost.current else "missing"
        logger.info("not adopted", extra={"task_id": task_id, "attempt": attempt,
                                          "current_status": state})
        return "skipped"
    logger.info("adopted", extra={"task_id": task_id, "attempt": attempt})
    return run_attempt(record, engine, svc)


def is_long_run(record: TaskRecord, svc: Services) -> bool:
    """Whether ``record`` goes to Fargate (a launcher and ``fargate_min_candles`` set)."""
    threshold = svc.settings.fargate_min_candles
    if svc.launcher is None or threshold <= 0:
        return False
    return estimated_candles(record.request) >= threshold


def _send_watch(record: TaskRecord, svc: Services) -> None:
    svc.queue.send(QueueMessage(task_id=record.task_id, owner=record.owner,
                                enqueued_at=iso(svc.clock()), kind="watch"),
                   delay_s=WATCH_DELAY_S)
