"""Cancel: queued|running → cancelled. Repeating it answers 200 again."""

from __future__ import annotations

from backtest_core.errors import NotCancellable, TaskNotFound, TransitionRefused
from backtest_core.models import TaskCreated, TaskStatus
from backtest_core.observability import count, logger
from backtest_core.services import Services


def cancel(task_id: str, owner: str, svc: Services) -> TaskCreated:
    """Flag the task cancelled; a running worker sees it at its next progress write."""
    now = svc.clock()
    try:
        record = svc.tasks.cancel(task_id, owner, now)
    except TransitionRefused as lost:
        current = lost.current
        if current is None or current.owner != owner or svc.tasks.is_expired(current, now):
            raise TaskNotFound(task_id) from None
        if current.status is TaskStatus.CANCELLED:
            return TaskCreated(task_id=task_id, status=current.status, created_at=current.created_at)
        raise NotCancellable(current.status.value) from None
    if record.execution_arn:  # a fanned-out task: best effort, shards check the record too
        svc.sfn.stop(record.execution_arn, "Task cancelled by user")
    count("BacktestsCancelled")
    logger.info("task cancelled", extra={"task_id": task_id})
    return TaskCreated(task_id=task_id, status=record.status, created_at=record.created_at)
