"""The one bridge between the service core and the engine (the only module importing both).

Maps a ``backtest_core.models.BacktestRequest`` to ``run_backtest`` and the engine's errors
to the core's vocabulary: bad data/params → PermanentTaskError (the task fails at once),
cancellation → TaskCancelled. Anything else propagates as transient (SQS retries).

``python -m backtest_engine.adapter --write-catalog`` regenerates the catalog the API
functions read (they never import the engine).
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

from backtest_core.errors import PermanentTaskError, TaskCancelled
from backtest_core.models import BacktestRequest

from .errors import BacktestCancelled, EngineError
from .progress import Progress
from .runner import RunSpec, run_backtest
from .strategies import catalog

CORE_CATALOG = Path(__file__).resolve().parents[2] / "core" / "backtest_core" / "strategy_catalog.json"


class Engine:
    """What ``run_task`` and the sync run call: ``run(request, reader, ...) -> document``."""

    def run(self, request: BacktestRequest, reader: Any, *, run_id: str, progress: Any,
            should_cancel: Any, environment: str) -> dict[str, Any]:
        spec = RunSpec(
            strategy=request.strategy, params=dict(request.params), symbols=list(request.symbols),
            start_date=request.start_date, end_date=request.end_date,
            timeframe=request.timeframe, fee_bps=request.fee_bps,
            slippage_bps=request.slippage_bps,
        )
        try:
            return run_backtest(
                spec, reader, run_id=run_id, progress=_reporter(progress),
                should_cancel=should_cancel,
                environment=environment, execution_host=socket.gethostname(),
            )
        except BacktestCancelled:
            raise TaskCancelled("cancelled") from None
        except EngineError as exc:
            raise PermanentTaskError(str(exc)) from exc


def _reporter(report: Any) -> Any:
    """The engine's Progress records → the worker's ``report(fraction, stage, symbols_done)``."""
    if report is None:
        return None

    def forward(p: Progress) -> None:
        report(p.fraction, p.stage, p.symbols_done)

    return forward


def catalog_json() -> str:
    return json.dumps(catalog(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover - developer tool
    if sys.argv[1:] == ["--write-catalog"]:
        CORE_CATALOG.write_text(catalog_json())
        print(f"wrote {CORE_CATALOG}")
    else:
        print("usage: python -m backtest_engine.adapter --write-catalog", file=sys.stderr)
        sys.exit(2)
