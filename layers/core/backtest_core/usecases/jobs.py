"""One jobs-queue delivery, end to end: parse, process, and sort failures (docs/operations.md).

Only transient failures (``faults.is_transient``) leave ``handle_job`` as exceptions, so
that SQS redelivers them (then the DLQ). A message that is not a ``QueueMessage`` and any
other failure are permanent: the task they name fails at once and the message is consumed.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from backtest_core.errors import TransitionRefused
from backtest_core.faults import describe, is_transient
from backtest_core.models import QueueMessage
from backtest_core.observability import count, logger
from backtest_core.services import Services
from backtest_core.usecases.run_task import Engine, Outcome
from backtest_core.usecases.worker import process_message

UNREADABLE = "Backtest failed: its job message could not be read"


def handle_job(body: str, engine: Engine, svc: Services) -> Outcome:
    """Process one message body; raises only transient errors."""
    try:
        message = QueueMessage.model_validate_json(body)
    except ValidationError:
        logger.error("unreadable job message", extra={"body": body[:500]})
        return fail_task(_task_id_of(body), UNREADABLE, svc)
    try:
        return process_message(message, engine, svc)
    except Exception as exc:
        if is_transient(exc):
            raise
        logger.exception("permanent failure", extra={"task_id": message.task_id})
        return fail_task(message.task_id, f"Backtest failed: {describe(exc)}", svc)


def fail_task(task_id: str | None, error: str, svc: Services) -> Outcome:
    """queued|running → failed with ``error``; "skipped" when there is no such live task."""
    if not task_id:
        return "skipped"
    try:
        svc.tasks.fail(task_id, error, svc.clock())
    except TransitionRefused:
        return "skipped"  # terminal already, or gone
    count("BacktestsFailed")
    logger.warning("failed", extra={"task_id": task_id, "error": error})
    return "failed"


def _task_id_of(body: str) -> str | None:
    """The ``task_id`` of a body that is JSON but not a valid message, if it names one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    task_id = data.get("task_id") if isinstance(data, dict) else None
    return task_id if isinstance(task_id, str) and 0 < len(task_id) <= 100 else None
