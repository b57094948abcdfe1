"""Dead-letter handling: a message SQS gave up on fails its task with the attempt count.

Unless an attempt is alive: a ``running`` task whose lease holds is being worked on, and
the dead-lettered message is a duplicate (e.g. a re-send, or a delivery whose visibility
ran out during a slow cold start); if that worker dies, the reaper takes over.
"""

from __future__ import annotations

from backtest_core.errors import TransitionRefused
from backtest_core.models import QueueMessage, TaskStatus
from backtest_core.observability import count, logger
from backtest_core.queue import MAX_DELAY_S
from backtest_core.services import Services


def fail_dead_letter(message: QueueMessage, receive_count: int, svc: Services) -> bool:
    """Mark the task failed ("Backtest failed after N attempts: …"); False if already terminal."""
    if message.kind == "shard":
        # One shard of a fan-out: its task token times out (HeartbeatSeconds) and the Map's
        # Retry sends it again, then reports its symbol; the task itself goes on.
        return False
    now = svc.clock()
    record = svc.tasks.get(message.task_id, now)
    if record is None or record.status.terminal:
        return False
    if message.kind == "watch" and svc.tasks.lease_is_live(record, now):
        # Only the watchdog message failed; its container is alive and heartbeating:
        # keep watching instead of failing a healthy run.
        svc.queue.send(message, delay_s=MAX_DELAY_S)
        return False
    if record.status is TaskStatus.RUNNING and svc.tasks.lease_is_live(record, now):
        logger.warning("dead-lettered duplicate left alone: its attempt is alive",
                       extra={"task_id": message.task_id, "attempt": record.attempt})
        return False
    # The record counts the worker's claims exactly; a DLQ message's ApproximateReceiveCount
    # also counts the DLQ consumer's own receives, so it is only the fallback (never claimed).
    attempts = record.attempt or receive_count
    reason = record.last_error or "the worker did not finish (message moved to the dead-letter queue)"
    try:
        svc.tasks.fail(message.task_id, f"Backtest failed after {attempts} attempts: {reason}", now)
    except TransitionRefused:
        return False
    count("BacktestsFailed")
    logger.warning("dead-lettered", extra={"task_id": message.task_id, "attempts": attempts})
    return True
