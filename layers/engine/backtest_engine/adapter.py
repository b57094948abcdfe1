"""The one bridge between the service core and the engine (the only module importing both).

Maps a ``backtest_core.models.BacktestRequest`` to ``run_backtest`` and the engine's errors
to the core's vocabulary: bad data/params → PermanentTaskError (the task fails at once),
cancellation → TaskCancelled. Anything else propagates as transient (SQS retries).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any

from backtest_core.aggregate import shard_failure
from backtest_core.engine_port import (
    CancelFn,
    CandleSource,
    Document,
    PboOutcome,
    ProgressFn,
    UnitStore,
)
from backtest_core.errors import PermanentTaskError, TaskCancelled
from backtest_core.models import BacktestRequest, SweepRequest
from backtest_core.sweeps import ShardSpec

from .chart import chart_candles
from .errors import BacktestCancelled, EngineError
from .progress import Progress
from .runner import RunSpec, assemble_fanout, run_backtest, run_by_symbol, run_shard
from .stats import deflated_sharpe, pbo_from_blocks
from .sweep import WalkForward, run_sweep_shard
from .version import ENGINE_VERSION


class Engine:
    """The core's ``EnginePort``: ``run`` (a whole task) and ``run_shard`` (one fan-out
    shard), with the engine's errors mapped to the core's vocabulary; ``deflated_sharpe``
    and ``pbo`` for the sweep aggregation (``backtest_engine.stats``)."""

    def run(self, request: BacktestRequest, reader: CandleSource, *, run_id: str,
            progress: ProgressFn, should_cancel: CancelFn, environment: str,
            units: UnitStore | None = None, rows_as_json: bool = False) -> Document:
        """The whole run; with ``units``, one symbol at a time, each finished symbol kept
        there and the ones found there not run again (``runner.run_by_symbol``).
        ``rows_as_json`` (a caller that only encodes the document): a run in one go writes
        its long lists as JSON from their columns (``jsontext``); a run by symbol keeps
        dicts (its symbols' documents are stored and merged)."""
        with _mapped_errors():
            if units is not None:
                return run_by_symbol(
                    _spec(request), reader, units, run_id=run_id,
                    progress=_reporter(progress), should_cancel=should_cancel,
                    environment=environment, execution_host=socket.gethostname())
            return run_backtest(
                _spec(request), reader, run_id=run_id, progress=_reporter(progress),
                should_cancel=should_cancel, environment=environment,
                execution_host=socket.gethostname(), rows_as_json=rows_as_json,
            )

    def run_shard(self, request: BacktestRequest, shard: ShardSpec, reader: CandleSource, *,
                  run_id: str, should_cancel: CancelFn, environment: str) -> Document:
        """A sweep shard (``shard.combinations``) or one symbol of a fanned-out run."""
        spec = _spec(request)
        with _mapped_errors():
            if shard.combinations is None:
                one = replace(spec, symbols=[shard.symbol])
                return run_shard(one, reader, run_id=run_id, should_cancel=should_cancel,
                                 environment=environment, execution_host=socket.gethostname())
            out = run_sweep_shard(spec, reader, shard.symbol, shard.combinations,
                                  should_cancel, pbo_blocks=getattr(request, "pbo_blocks", 16),
                                  walk_forward=_walk_forward(request))
            return {**out, "engine_version": ENGINE_VERSION}

    def assemble(self, request: BacktestRequest, shards: list[Document | None], *,
                 run_id: str, metadata: dict, execution_time_s: float) -> Document | None:
        """A fanned-out plain run's document from its shards (``runner.assemble_fanout``)."""
        with _mapped_errors():
            return assemble_fanout(_spec(request), shards, run_id=run_id, metadata=metadata,
                                   execution_time_s=execution_time_s, failure=shard_failure)

    def chart_candles(self, reader: CandleSource, symbol: str, timeframe: str, start: date,
                      end: date, max_points: int) -> dict[str, Any] | None:
        """``GET /api/candles``: the merged candles (``chart.chart_candles``), None when
        nothing is stored for ``symbol`` at ``timeframe``; an invalid file is permanent."""
        with _mapped_errors():
            return chart_candles(reader, symbol, timeframe, start, end, max_points)

    def deflated_sharpe(self, sr: float, bars: int, skewness: float, kurtosis: float,
                        variance: float, trials: int) -> float | None:
        return deflated_sharpe(sr, bars, skewness, kurtosis, variance, trials)

    def pbo(self, rows: int, sums: list[list[float]], sums_sq: list[list[float]]) -> PboOutcome:
        result = pbo_from_blocks(rows, sums, sums_sq)
        return PboOutcome(pbo=result.pbo, pbo_reason=result.reason, logits=list(result.logits))


def _reporter(report: ProgressFn | None) -> Callable[[Progress], None] | None:
    """The engine's Progress records → the worker's ``report(fraction, stage, symbols_done)``."""
    if report is None:
        return None

    def forward(p: Progress) -> None:
        report(p.fraction, p.stage, p.symbols_done)

    return forward


def _walk_forward(request: BacktestRequest) -> WalkForward | None:
    if not isinstance(request, SweepRequest) or request.validation is None \
            or request.validation.walk_forward is None:
        return None
    wf = request.validation.walk_forward
    return WalkForward(folds=wf.folds, anchored=wf.anchored, rank_by=request.rank_by)


def _spec(request: BacktestRequest) -> RunSpec:
    return RunSpec(
        strategy=request.strategy, params=dict(request.params), symbols=list(request.symbols),
        start_date=request.start_date, end_date=request.end_date,
        timeframe=request.timeframe, fee_bps=request.fee_bps,
        slippage_bps=request.slippage_bps, definition=request.definition,
        position=request.position,
    )


@contextmanager
def _mapped_errors() -> Iterator[None]:
    try:
        yield
    except BacktestCancelled:
        raise TaskCancelled("cancelled") from None
    except EngineError as exc:
        raise PermanentTaskError(str(exc)) from exc
