"""Submit a backtest: validate, write the task (queued, with TTL), enqueue, answer at once."""

from __future__ import annotations

import uuid

from backtest_core.errors import EnqueueFailed
from backtest_core.models import (
    BacktestRequest,
    QueueMessage,
    SweepCreated,
    SweepRequest,
    TaskCreated,
    combination_count,
)
from backtest_core.observability import count, logger
from backtest_core.services import Services
from backtest_core.sweeps import shard_plan, validated_sweep
from backtest_core.timeutil import iso
from backtest_core.usecases.strategies import resolve_request


def submit(request: BacktestRequest, owner: str, svc: Services) -> TaskCreated:
    """Create a queued task and send its message. On a send failure the task is failed,
    so nothing is left queued, and EnqueueFailed (HTTP 500) is raised."""
    request, _ = resolve_request(request, owner, svc)
    check_stored(request, svc)
    return _create_and_enqueue(request, owner, svc)


def submit_sweep(request: SweepRequest, owner: str, svc: Services) -> SweepCreated:
    """A sweep (docs/sweeps.md): every grid value checked against the strategy (422 naming
    ``grid``), the shard plan recorded, then queued like a backtest."""
    resolved, ref = resolve_request(request, owner, svc)
    assert isinstance(resolved, SweepRequest)  # model_copy keeps the class
    request = validated_sweep(resolved, ref)
    check_stored(request, svc)
    combinations = combination_count(request.grid)
    shards, size = shard_plan(combinations, len(request.symbols),
                              svc.settings.sweep_shard_combinations)
    created = _create_and_enqueue(request, owner, svc, shards, size)
    return SweepCreated(**created.model_dump(), combinations=combinations, shards=shards)


def check_stored(request: BacktestRequest, svc: Services) -> None:
    """422 at ``timeframe`` when no requested symbol has data stored at the request's
    timeframe (backtest_core.stored_timeframes); the message lists what is stored."""
    if svc.stored is not None:
        svc.stored.check(request.symbols, request.timeframe)


def _create_and_enqueue(request: BacktestRequest, owner: str, svc: Services,
                        shards_total: int = 0, shard_size: int = 0) -> TaskCreated:
    now = svc.clock()
    task_id = str(uuid.uuid4())
    record = svc.tasks.create(task_id, owner, request, now, shards_total, shard_size)
    message = QueueMessage(task_id=task_id, owner=owner, enqueued_at=iso(now))
    try:
        svc.queue.send(message)
    except Exception as exc:  # any send failure: the task must not stay queued
        logger.exception("enqueue failed", extra={"task_id": task_id})
        try:
            svc.tasks.fail(task_id, f"Failed to enqueue backtest job: {exc}", svc.clock())
        except Exception:  # the answer is still the enqueue failure; the TTL cleans up
            logger.exception("could not mark the task failed", extra={"task_id": task_id})
        raise EnqueueFailed(str(exc)) from exc
    count("BacktestsSubmitted")
    logger.info("task queued", extra={"task_id": task_id, "strategy": request.strategy_name})
    return TaskCreated(task_id=task_id, status=record.status, created_at=record.created_at)
