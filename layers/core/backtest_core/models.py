"""Typed models at every seam: request, task record, queue message and API views."""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from backtest_core.symbols import TIMEFRAME_SECONDS, normalize_symbol, normalize_timeframe

MAX_SYMBOLS = 50
Symbol = Annotated[str, AfterValidator(normalize_symbol)]


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})

# SPEC §6: the only transitions there are. Every write is conditional on the source state.
ALLOWED_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.QUEUED: frozenset({TaskStatus.RUNNING, TaskStatus.CANCELLED, TaskStatus.FAILED}),
    TaskStatus.RUNNING: frozenset(
        {TaskStatus.RUNNING, TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED}
    ),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.FAILED: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}


class BacktestRequest(BaseModel):
    """Body of ``POST /api/backtests/run-async`` and ``/run`` (SPEC §5)."""

    model_config = ConfigDict(extra="forbid")

    strategy: str = Field(min_length=1, description="Strategy name, see GET /api/strategies")
    params: dict[str, Any] = Field(default_factory=dict, description="Strategy parameters")
    symbols: list[Symbol] = Field(min_length=1, max_length=MAX_SYMBOLS, examples=[["BTC_KRW"]])
    start_date: date = Field(description="First day, YYYY-MM-DD (UTC)")
    end_date: date = Field(description="Last day, included whole, YYYY-MM-DD (UTC)")
    timeframe: str = Field(default="1d", description="1m 3m 5m 15m 30m 1h 4h 1d 1w")
    fee_bps: float = Field(default=5.0, ge=0, le=1000, description="Fee per side, basis points")
    slippage_bps: float = Field(default=0.0, ge=0, le=1000, description="Slippage, basis points")

    @field_validator("symbols")
    @classmethod
    def _unique_symbols(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("timeframe")
    @classmethod
    def _canonical_timeframe(cls, value: str) -> str:
        return normalize_timeframe(value)

    @field_validator("end_date")
    @classmethod
    def _ordered_dates(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("start_date")
        if start is not None and start > value:
            raise ValueError("start_date must be before or equal to end_date")
        return value

    def canonical_json(self) -> str:
        """Stable JSON used to store the request and to compare idempotent bodies."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


class QueueMessage(BaseModel):
    """Body of a jobs-queue message: just enough to find the task.

    ``kind`` is "run" (submit: run the task) or "watch" (the worker's delayed check on a
    task handed off to Fargate, usecases/long_run.py); older bodies without it are "run".
    """

    task_id: str
    owner: str
    enqueued_at: str
    kind: Literal["run", "watch"] = "run"


def estimated_candles(request: BacktestRequest) -> int:
    """Upper bound of candles the run reads: symbols × bars in the window.

    >>> estimated_candles(BacktestRequest(strategy="s", symbols=["BTC_KRW"],
    ...     start_date="2024-01-01", end_date="2024-01-02", timeframe="1h"))
    48
    """
    days = (request.end_date - request.start_date).days + 1
    return len(request.symbols) * days * 86400 // TIMEFRAME_SECONDS[request.timeframe]


class TaskRecord(BaseModel):
    """One item of the Tasks table (SPEC §6). ``expires_at`` is the TTL (epoch seconds)."""

    model_config = ConfigDict(extra="ignore")

    task_id: str
    owner: str
    status: TaskStatus
    request: BacktestRequest
    created_at: str
    updated_at: str
    expires_at: int
    progress: float = 0.0
    stage: str | None = None
    attempt: int = 0
    lease_expires_at: int | None = None
    requeued_at: int | None = None  # epoch s of the reaper's last re-send (usecases/reaper.py)
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    last_error: str | None = None
    symbols_total: int = 0
    symbols_done: int = 0
    result_key: str | None = None
    summary: dict[str, Any] | None = None

    @field_validator("request", mode="before")
    @classmethod
    def _request_from_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class TaskCreated(BaseModel):
    task_id: str
    status: TaskStatus
    created_at: str


class StatusView(BaseModel):
    """``GET /api/backtests/status/{task_id}``."""

    task_id: str
    status: TaskStatus
    progress: float
    stage: str | None
    result: dict[str, Any] | None
    error: str | None
    created_at: str
    started_at: str | None
    updated_at: str
    finished_at: str | None
    symbols_total: int
    symbols_done: int
    result_url: str | None = Field(default=None, description="Where the result document is")


class HistoryItem(BaseModel):
    task_id: str
    status: TaskStatus
    strategy: str
    symbols: list[str]
    timeframe: str
    start_date: date
    end_date: date
    progress: float
    created_at: str
    finished_at: str | None
    error: str | None
    total_signals: int | None


class HistoryPage(BaseModel):
    items: list[HistoryItem]
    next_cursor: str | None


class StrategyInfo(BaseModel):
    name: str
    description: str
    params_schema: dict[str, Any]
    defaults: dict[str, Any]


class StrategiesView(BaseModel):
    strategies: list[str]
    count: int
    details: list[StrategyInfo]


class HealthView(BaseModel):
    status: str
    timestamp: str
