"""No task left behind: find live tasks nobody vouches for any more, and act (docs/operations.md).

Scheduled every minute (EventBridge; locally a timer). Two index queries, never a scan
(``TaskRepository.unvouched``: the sparse ``status-lease_expires_at-index``). After that
pass the invocation keeps ``watch``-ing while tasks run (``REAPER_WATCH_S``): it sleeps
until the earliest running lease could have expired and passes again, so a dead worker's
task is re-sent about one lease after its last heartbeat instead of up to a minute later
(docs/operations.md, "Reaper"):

- ``running`` with an expired lease: the worker died (killed, timed out, out of memory)
  and its message may not come back for a whole visibility period (5400 s). Before the
  queue's max receives the task is re-sent, so the next claim takes it over as
  ``attempt + 1``; after them it fails with "Backtest failed after N attempts: the worker
  stopped without finishing" (or the attempt's last transient error). A lease released by
  a transient failure (``last_error``) is left alone during its retry backoff
  (``RETRY_BACKOFF_S`` × attempt): SQS redelivers it then. The re-send is recorded (``requeued_at``), at most one per
  visibility period, and only while that attempt's lease is still expired.
- ``queued`` past its lease (one visibility period after create or after the last
  re-send): its message may have been lost (e.g. the enqueue timed out after the record
  was written). Re-sent, and the lease moved one period on, in one conditional write: at
  most one duplicate per task and period, however long a healthy backlog is.

Every write is conditional, so two reapers, a late worker and a cancel can race safely;
a stale message is harmless because claims are conditional. ``TasksReaped`` (EMF) counts
the tasks acted on; the template alarms on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from backtest_core.errors import TransitionRefused
from backtest_core.models import QueueMessage, TaskRecord, TaskStatus
from backtest_core.observability import count, logger
from backtest_core.services import Services
from backtest_core.timeutil import epoch_s, iso

BATCH = 100  # tasks per status and run; the rest waits for the next minute
STOPPED_REASON = "the worker stopped without finishing"


@dataclass
class ReapReport:
    requeued: int = 0  # running tasks re-sent for the next attempt
    failed: int = 0  # running tasks failed after the queue's max receives
    resent: int = 0  # queued tasks whose message was re-sent

    @property
    def total(self) -> int:
        return self.requeued + self.failed + self.resent

    def add(self, other: ReapReport) -> None:
        self.requeued += other.requeued
        self.failed += other.failed
        self.resent += other.resent


_WAKE_AFTER_S = 1.05  # leases are whole epoch seconds; expired once now ≥ lease + 1
_MIN_SLEEP_S = 1.0  # never a busy loop, whatever the clock says


def reap(svc: Services) -> ReapReport:
    """One pass over both statuses; returns what was done."""
    report = ReapReport()
    now = svc.clock()
    for record in svc.tasks.unvouched(TaskStatus.RUNNING, now, BATCH):
        _reap_running(record, svc, report)
    for record in svc.tasks.unvouched(TaskStatus.QUEUED, now, BATCH):
        _resend_queued(record, svc, report)
    if report.total:
        count("TasksReaped", report.total)
        logger.warning("reaped", extra={"requeued": report.requeued, "failed": report.failed,
                                        "resent": report.resent})
    return report


def watch(svc: Services, seconds: float,
          sleep: Callable[[float], None] = time.sleep) -> ReapReport:
    """``reap`` now and again each time a running task's lease may have expired, for up to
    ``seconds``. With no running lease it looks again every ``lease_seconds``: a task
    claimed meanwhile cannot have expired before it is seen. The next scheduled invocation
    takes over after ``seconds``; two overlapping reapers are harmless (every write is
    conditional)."""
    report = reap(svc)
    deadline = svc.clock().timestamp() + seconds
    while True:
        now = svc.clock()
        lease = svc.tasks.next_lease_expiry(TaskStatus.RUNNING, now)
        if lease is None:
            wake = now.timestamp() + svc.settings.lease_seconds
        else:
            wake = max(lease + _WAKE_AFTER_S, now.timestamp() + _MIN_SLEEP_S)
        wake = min(wake, deadline)
        if wake - now.timestamp() < _MIN_SLEEP_S:
            return report
        sleep(wake - now.timestamp())
        report.add(reap(svc))


def _reap_running(record: TaskRecord, svc: Services, report: ReapReport) -> None:
    now = svc.clock()
    if record.last_error and record.lease_expires_at is not None and (
        record.lease_expires_at + svc.settings.retry_backoff_s * record.attempt >= epoch_s(now)
    ):
        return  # a transient failure released the lease: SQS redelivers after its backoff
    if record.attempt >= svc.settings.max_receives:
        reason = record.last_error or STOPPED_REASON
        error = f"Backtest failed after {record.attempt} attempts: {reason}"
        try:
            svc.tasks.fail_abandoned(record.task_id, record.attempt, error, now)
        except TransitionRefused:
            return  # it finished, was cancelled, taken over or heartbeated meanwhile
        report.failed += 1
        count("BacktestsFailed")
        logger.warning("failed abandoned task", extra={"task_id": record.task_id,
                                                       "attempt": record.attempt})
        return
    not_since = epoch_s(now) - svc.settings.visibility_timeout_s
    if record.requeued_at is not None and record.requeued_at > not_since:
        return  # re-sent within this visibility period: its message is on the way
    try:
        svc.tasks.mark_requeued(record.task_id, record.attempt, now, not_since)
    except TransitionRefused:
        return
    _send(record, svc)
    report.requeued += 1
    logger.warning("re-queued abandoned task", extra={"task_id": record.task_id,
                                                      "attempt": record.attempt})


def _resend_queued(record: TaskRecord, svc: Services, report: ReapReport) -> None:
    if record.lease_expires_at is None:
        return
    try:
        svc.tasks.renew_queued(record.task_id, record.lease_expires_at, svc.clock())
    except TransitionRefused:
        return  # claimed, cancelled or re-sent by another reaper meanwhile
    _send(record, svc)
    report.resent += 1
    logger.warning("re-sent queued task", extra={"task_id": record.task_id})


def _send(record: TaskRecord, svc: Services) -> None:
    """The marker is written first, so a failed send waits one period (logged, re-raised
    so the invocation counts as an error)."""
    message = QueueMessage(task_id=record.task_id, owner=record.owner,
                           enqueued_at=iso(svc.clock()))
    try:
        svc.queue.send(message)
    except Exception:
        logger.exception("re-send failed", extra={"task_id": record.task_id})
        raise
