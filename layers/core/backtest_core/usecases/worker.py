"""The worker's one use case for a jobs-queue message: which path runs it.

- "watch": the lease watchdog of a run handed off to Fargate (long_run.watch);
- "shard" / "aggregate": a fan-out execution's task token messages (fanout);
- "run": claim the task, then fan it out on Step Functions (sweeps; plain runs with ≥ 2
  symbols from ``FANOUT_MIN_CANDLES`` candles), hand it to Fargate (long runs), or run it
  here (run_task).
"""

from __future__ import annotations

from backtest_core.engine_port import EnginePort
from backtest_core.models import QueueMessage
from backtest_core.observability import logger
from backtest_core.services import Services
from backtest_core.usecases import fanout
from backtest_core.usecases.long_run import hand_off, is_long_run, watch
from backtest_core.usecases.run_task import Outcome, claim_attempt, run_attempt


def process_message(message: QueueMessage, engine: EnginePort, svc: Services) -> Outcome:
    """Process one delivery; idempotent under redelivery (every write is conditional)."""
    logger.set_correlation_id(message.task_id)
    if message.kind == "watch":
        return watch(message, svc)
    if message.kind == "shard":
        return fanout.run_shard(message, engine, svc)
    if message.kind == "aggregate":
        return fanout.aggregate(message, engine, svc)
    record = svc.tasks.get(message.task_id, svc.clock())
    if record is None:
        return "skipped"
    if fanout.fans_out(record, svc):
        claimed = claim_attempt(message.task_id, svc)
        return "skipped" if claimed is None else fanout.start(claimed, svc)
    if is_long_run(record, svc):
        return hand_off(message, svc)
    claimed = claim_attempt(message.task_id, svc)
    return "skipped" if claimed is None else run_attempt(claimed, engine, svc)
