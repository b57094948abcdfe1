"""A small fake engine for run_task tests and a fake of its statistics for the aggregation
(the real ones are tested in tests/unit/engine)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from backtest_core.engine_port import PboOutcome
from backtest_core.errors import TaskCancelled


def aws_error(code: str = "SlowDown", operation: str = "GetObject", status: int = 503,
              message: str = "Please reduce your request rate") -> ClientError:
    """What botocore raises for an AWS error answer (transient for throttling/5xx codes)."""
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


class FakeEngine:
    """Reports ``steps`` progress points; ``on_step(i)`` runs before each (to cancel, crash…)."""

    def __init__(self, steps: int = 5, on_step: Callable[[int], None] | None = None,
                 error: Exception | None = None):
        self.steps = steps
        self.on_step = on_step
        self.error = error
        self.calls = 0
        self.stopped_at: int | None = None
        self.started = threading.Event()

    def run(self, request: Any, reader: Any, *, run_id: str, progress: Any, should_cancel: Any,
            environment: str, units: Any = None, rows_as_json: bool = False) -> dict[str, Any]:
        self.calls += 1
        self.started.set()
        if self.error is not None:
            raise self.error
        for i in range(self.steps):
            if self.on_step:
                self.on_step(i)
            progress(0.1 + 0.7 * (i + 1) / self.steps, "running_strategy")
            if should_cancel():
                self.stopped_at = i
                raise TaskCancelled("cancelled")
        return {"version": "1.3.0", "run_id": run_id, "total_signals": 3,
                "symbols": [{"symbol": s, "data": {"rows": 10}} for s in request.symbols],
                "failed_symbols": [], "execution_time": 0.01}


class FakeStats:
    """A ``StatsPort`` that records its calls and answers fixed values."""

    def __init__(self, dsr: float | None = 0.5, pbo: float | None = 0.25):
        self.dsr, self.pbo_value = dsr, pbo
        self.dsr_calls: list[tuple[Any, ...]] = []
        self.pbo_calls: list[tuple[Any, ...]] = []

    def deflated_sharpe(self, *args: Any) -> float | None:
        self.dsr_calls.append(args)
        return self.dsr

    def pbo(self, rows: int, sums: list[list[float]], sums_sq: list[list[float]]) -> Any:
        self.pbo_calls.append((rows, sums, sums_sq))
        return PboOutcome(pbo=self.pbo_value, pbo_reason=None if self.pbo_value is not None
                          else "fake: no PBO")
