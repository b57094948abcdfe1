"""Fan-out on Step Functions (docs/sweeps.md): start the execution, run a shard, aggregate.

- ``start``: the worker has claimed a sweep (or a plain run big enough to fan out); it
  starts the execution ``{task_id}-{attempt}`` (statemachines/fanout.asl.json) whose Map
  sends one "shard" message per shard to the jobs queue with a task token, and records it
  (stage ``running_shards``, lease ``fanout_lease_s`` renewed by every finished shard).
- ``run_shard``: loads the shard's symbol once, runs it (a sweep: every combination of its
  chunk), stores the shard result under the task's prefix, counts it, answers the token.
  A failure answers ``ShardFailed`` (the Map's Retry, then its Catch reports the symbol).
- ``aggregate``: the final "aggregate" message; builds the document from the shard results
  and completes the task with the lifecycle's conditional write (docs/api.md) (or fails it: no symbol ran).

Shards and the aggregation act only while the task is ``running`` under their attempt, so
a cancel is correct without StopExecution (moto's leaves executions running) and a
stale execution after a takeover changes nothing.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from datetime import datetime

from backtest_core.aggregate import (
    aggregation_metadata,
    no_data_message,
    sweep_document,
)
from backtest_core.engine_port import EnginePort, summary_of_backtest
from backtest_core.errors import PermanentTaskError, TaskCancelled, TransitionRefused
from backtest_core.faults import describe, is_transient
from backtest_core.models import (
    QueueMessage,
    ResultSummary,
    SweepRequest,
    TaskRecord,
    TaskStatus,
)
from backtest_core.models import estimated_candles as _estimated
from backtest_core.observability import count, logger
from backtest_core.services import Services
from backtest_core.sweeps import shard_spec
from backtest_core.usecases.run_task import (
    Outcome,
    complete_with,
    fail_attempt,
    release,
    stopped,
)

SHARD_ERROR = "ShardFailed"  # the Retry/Catch error name in the state machine


def fans_out(record: TaskRecord, svc: Services) -> bool:
    """Sweeps always; a plain run with ≥ 2 symbols from ``fanout_min_candles`` candles."""
    if isinstance(record.request, SweepRequest):
        return True
    return (svc.sfn.enabled and len(record.request.symbols) >= 2
            and _estimated(record.request) >= svc.settings.fanout_min_candles)


def start(record: TaskRecord, svc: Services) -> Outcome:
    """Start the execution of the claimed ``record`` (see the module docstring)."""
    if not svc.sfn.enabled:
        return fail_attempt(record, "Sweeps need the fan-out state machine (STATE_MACHINE_ARN)",
                            svc)
    sweep = isinstance(record.request, SweepRequest)
    shards = record.shards_total if sweep else len(record.request.symbols)
    size = record.shard_size if sweep else 0
    name = f"{record.task_id}-{record.attempt}"
    execution_input = {"task_id": record.task_id, "owner": record.owner,
                       "attempt": record.attempt, "shards": list(range(shards))}
    try:
        arn = svc.sfn.start(name, execution_input)
        svc.tasks.start_fanout(record.task_id, record.attempt, arn, shards, size, svc.clock(),
                               svc.settings.fanout_lease_s)
    except TransitionRefused as lost:  # cancelled (or taken over) meanwhile
        svc.sfn.stop(svc.sfn.execution_arn(name), "task no longer running")
        return stopped(lost.current)
    except Exception as exc:
        if not is_transient(exc):  # e.g. a bad state machine ARN: retrying cannot help
            logger.exception("fan-out start failed", extra={"task_id": record.task_id})
            return fail_attempt(record, f"Backtest failed: could not start the fan-out: "
                                 f"{describe(exc)}", svc)
        release(record, exc, svc)
        raise
    logger.info("fanned out", extra={"task_id": record.task_id, "shards": shards,
                                     "execution": arn})
    return "fanned_out"


def run_shard(message: QueueMessage, engine: EnginePort, svc: Services) -> Outcome:
    """Run shard ``message.shard`` of ``message.attempt`` and answer ``message.token``."""
    index = int(message.shard or 0)
    record = _owned_record(message, svc)
    if record is None:
        _skip(message.token, {"shard": index, "status": "skipped"}, svc)
        return "skipped"
    token = _required(message.token)
    spec = shard_spec(record, index)
    with ShardControl(svc, record, token) as control:
        try:
            document = engine.run_shard(record.request, spec, svc.candles,
                                        run_id=record.task_id,
                                        should_cancel=control.should_cancel,
                                        environment=svc.settings.environment)
        except TaskCancelled:
            svc.sfn.succeed(token, {"shard": index, "status": "cancelled"})
            return "cancelled"
        except Exception as exc:  # permanent or not: the Map's Retry decides, then Catch
            error = str(exc) or "the shard failed"
            logger.warning("shard failed", extra={"task_id": record.task_id, "shard": index,
                                                  "error": error})
            svc.results.put_shard(record.task_id, record.attempt, index,
                                  {"symbol": spec.symbol, "error": error[:2000]})
            svc.sfn.fail(token, SHARD_ERROR, error)
            return "failed"
    svc.results.put_shard(record.task_id, record.attempt, index, document)
    _count_shard(record, index, svc)
    svc.sfn.succeed(token, {"shard": index, "status": "ok"})
    return "completed"


def aggregate(message: QueueMessage, engine: EnginePort, svc: Services) -> Outcome:
    """Assemble the result from the shards (the engine builds a plain run's document and
    the statistics of a sweep's overfitting block) and complete (or fail) the task."""
    record = _owned_record(message, svc)
    if record is None:
        _skip(message.token, {"status": "skipped"}, svc)
        return "skipped"
    token = _required(message.token)
    outcome = _assemble(record, engine, svc)
    svc.sfn.succeed(token, {"status": outcome})
    return outcome


def _assemble(record: TaskRecord, engine: EnginePort, svc: Services) -> Outcome:
    docs = [svc.results.get_shard(record.task_id, record.attempt, i)
            for i in range(record.shards_total)]
    now = svc.clock()
    metadata = aggregation_metadata(svc.settings.environment, socket.gethostname(), now)
    elapsed = _elapsed_s(record, now)
    request = record.request
    if isinstance(request, SweepRequest):
        document = sweep_document(request, record.task_id, docs, metadata, elapsed, engine)
    else:
        document = engine.assemble(request, docs, run_id=record.task_id, metadata=metadata,
                                   execution_time_s=elapsed)
    if document is None:
        if isinstance(request, SweepRequest) and any(d is not None and "error" in d
                                                     for d in docs):
            return fail_attempt(record, "Every shard of the sweep failed", svc)
        return fail_attempt(record, no_data_message(
            request.symbols, request.start_date.isoformat(), request.end_date.isoformat()), svc)
    key, size = svc.results.put(record.task_id, record.attempt, document)
    if isinstance(request, SweepRequest):
        summary = ResultSummary(
            total_signals=None, symbols=document["symbols"],
            failed_symbols=[f["symbol"] for f in document["failed_symbols"]],
            candles=_sweep_candles(docs),
            execution_time=elapsed, result_bytes=size)
    else:
        summary = summary_of_backtest(document, size)
    return complete_with(record, key, summary, svc, elapsed)


def _sweep_candles(docs: list[dict | None]) -> int:
    """Candles evaluated: bars × combinations of every shard that ran."""
    return sum(int(d["bars"]) * len(d["entries"]) for d in docs if d and "entries" in d)


def _count_shard(record: TaskRecord, index: int, svc: Services) -> None:
    """shards_done + 1 (once per shard), then progress = shards done / shards."""
    now = svc.clock()
    try:
        current = svc.tasks.shard_done(record.task_id, record.attempt, index, now,
                                       svc.settings.fanout_lease_s)
    except TransitionRefused:
        return  # counted before (a redelivery) or no longer ours: nothing to add
    fraction = current.shards_done / max(current.shards_total, 1)
    done_symbols = int(fraction * current.symbols_total)
    # Refused when a later shard wrote a higher value first, or the task stopped.
    with contextlib.suppress(TransitionRefused):
        svc.tasks.progress(record.task_id, record.attempt, min(fraction, 0.99),
                           "running_shards", done_symbols, now, svc.settings.fanout_lease_s)
    count("ShardsCompleted")


def _owned_record(message: QueueMessage, svc: Services) -> TaskRecord | None:
    """The task record while ``message.attempt`` still runs it, else None (logged)."""
    record = _running_attempt(message.task_id, message.attempt, svc)
    if record is None:
        logger.info("fan-out message for a task this execution no longer runs",
                    extra={"task_id": message.task_id, "kind": message.kind})
    return record


def _running_attempt(task_id: str, attempt: int | None, svc: Services) -> TaskRecord | None:
    record = svc.tasks.get(task_id, svc.clock())
    if record is None or record.status is not TaskStatus.RUNNING or record.attempt != attempt:
        return None
    return record


def _skip(token: str | None, output: dict, svc: Services) -> None:
    """Answer a stale message's token, if it has one: a message for a task this attempt no
    longer runs (cancelled, failed, retried) is dropped either way. Step Functions always
    sends the token; moto has been seen to resend a stopped execution's task without it."""
    if token:
        svc.sfn.succeed(token, output)


def _required(token: str | None) -> str:
    if not token:
        raise PermanentTaskError("fan-out message without a task token")
    return token


def _elapsed_s(record: TaskRecord, now: datetime) -> float:
    started = datetime.fromisoformat((record.started_at or record.created_at).replace("Z",
                                                                                      "+00:00"))
    return max((now - started).total_seconds(), 0.0)


class ShardControl:
    """Heartbeat (SendTaskHeartbeat every ``shard_heartbeat_s``) and cancel check (the task
    record every ``progress_interval_s``, at least 0.5 s) of one running shard."""

    def __init__(self, svc: Services, record: TaskRecord, token: str):
        self._svc, self._record, self._token = svc, record, token
        self._stop = threading.Event()
        self._cancelled = False
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"shard-{record.task_id}")

    def __enter__(self) -> ShardControl:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def should_cancel(self) -> bool:
        return self._cancelled

    def _loop(self) -> None:
        cfg = self._svc.settings
        check_s = max(cfg.progress_interval_s, 0.5)
        since_beat = 0.0
        while not self._stop.wait(check_s) and not self._cancelled:
            since_beat += check_s
            try:
                if _running_attempt(self._record.task_id, self._record.attempt,
                                    self._svc) is None:
                    self._cancelled = True
                if since_beat >= cfg.shard_heartbeat_s:
                    since_beat = 0.0
                    if not self._svc.sfn.heartbeat(self._token):
                        self._cancelled = True  # the Map gave up on this try: stop
            except Exception:  # best effort; the next round tries again
                logger.warning("shard check failed", exc_info=True)
