"""What the core asks of the engine (a Protocol: the core never imports it) and how the
typed ``ResultSummary`` of a result document is read.

The worker passes ``backtest_engine.adapter.Engine``; unit tests pass small fakes. The
engine raises ``PermanentTaskError`` for bad data/params and ``TaskCancelled`` when
``should_cancel()`` turned true; anything else is transient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from backtest_core.models import BacktestRequest, ResultSummary
from backtest_core.sweeps import ShardSpec

ProgressFn = Callable[..., None]  # (fraction 0..1, stage[, symbols_done])
CancelFn = Callable[[], bool]
Document = dict[str, Any]  # a JSON-safe result document (docs/engine.md#result-document)


class CandleSource(Protocol):
    """Where the engine reads candles: ``get(key) -> bytes | None``, ``list(prefix)``."""

    def get(self, key: str) -> bytes | None: ...

    def list(self, prefix: str) -> list[str]: ...

    def describe(self, key: str) -> str: ...


class PboOutcome(BaseModel):
    """The probability of backtest overfitting of one symbol (docs/sweeps.md): ``pbo`` in
    0..1, or None with ``pbo_reason``; ``logits`` = λ per choice of in-sample blocks
    (diagnostics and tests, not part of the result document)."""

    pbo: float | None
    pbo_reason: str | None = None
    logits: list[float] = Field(default_factory=list)


class StatsPort(Protocol):
    """The overfitting statistics the sweep aggregation asks of the engine (numpy lives
    there): ``backtest_engine.stats``."""

    def deflated_sharpe(self, sr: float, bars: int, skewness: float, kurtosis: float,
                        variance: float, trials: int) -> float | None:
        """DSR of the best entry: per-bar ``sr``, T = ``bars``, non-excess ``kurtosis``,
        ``variance`` of the per-bar Sharpe over the N ``trials``; None when undefined."""
        ...

    def pbo(self, rows: int, sums: list[list[float]], sums_sq: list[list[float]]) -> PboOutcome:
        """PBO of one symbol from its shards' block statistics: ``rows`` = per-bar returns
        per combination, ``sums[n]`` / ``sums_sq[n]`` = combination n's S block sums and sums
        of squares (S = ``pbo_blocks``), combinations in grid order."""
        ...


class UnitStore(Protocol):
    """The finished symbols of a task (a run's units; the worker keeps them under the
    task's results prefix so that a retry resumes, docs/local.md)."""

    def get(self, symbol: str) -> Document | None: ...

    def put(self, symbol: str, document: Document) -> None: ...


class EnginePort(StatsPort, Protocol):
    def run(self, request: BacktestRequest, reader: CandleSource, *, run_id: str,
            progress: ProgressFn, should_cancel: CancelFn, environment: str,
            units: UnitStore | None = None, rows_as_json: bool = False) -> Document:
        """The whole run: the docs/engine.md#result-document document. With ``units``: one symbol at a time, each
        finished symbol's document put there, the symbols found there not run again.
        ``rows_as_json``: the caller only reads the document's head and encodes it with
        ``backtest_contract.encoding``, so its long lists may come already written as
        JSON (``JsonRows``, docs/positions.md "Speed")."""
        ...

    def run_shard(self, request: BacktestRequest, shard: ShardSpec, reader: CandleSource, *,
                  run_id: str, should_cancel: CancelFn, environment: str) -> Document:
        """One fan-out shard: the single-symbol document of a plain run, or the sweep
        shard ``{symbol, bars, failed_reason, entries, engine_version}``."""
        ...

    def assemble(self, request: BacktestRequest, shards: list[Document | None], *,
                 run_id: str, metadata: dict, execution_time_s: float) -> Document | None:
        """A fanned-out plain run's document (the unsharded run's, shared portfolio
        included) from one ``run_shard`` document per symbol, or ``{"error": …}`` / None
        for a shard without a result; None when no symbol ran."""
        ...


class _Head(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Rows(_Head):
    rows: int = 0


class _SymbolHead(_Head):
    symbol: str
    data: _Rows = Field(default_factory=_Rows)


class _FailedHead(_Head):
    symbol: str


class _DocumentHead(_Head):
    total_signals: int = 0
    symbols: list[_SymbolHead] = Field(default_factory=list)
    failed_symbols: list[_FailedHead] = Field(default_factory=list)
    execution_time: float | None = None


def summary_of_backtest(document: Document, result_bytes: int) -> ResultSummary:
    """The ``ResultSummary`` of a backtest document (docs/engine.md#result-document)."""
    head = _DocumentHead.model_validate(document)
    return ResultSummary(total_signals=head.total_signals,
                         symbols=[s.symbol for s in head.symbols],
                         failed_symbols=[f.symbol for f in head.failed_symbols],
                         candles=sum(s.data.rows for s in head.symbols),
                         execution_time=head.execution_time, result_bytes=result_bytes)
