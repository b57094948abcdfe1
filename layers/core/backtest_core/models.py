"""Typed models at every seam: request, task record, queue message and API views."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
)

from backtest_contract.market import (
    ACCEPTED_TIMEFRAMES,
    SYMBOL_PATTERN,
    TIMEFRAME_SECONDS,
    normalize_symbol,
    normalize_timeframe,
)
from backtest_contract.position import PositionInput
from backtest_contract.registry import BUILTIN_NAMES
from backtest_core.quoting import quote_text

MAX_SYMBOLS = 50
Symbol = Annotated[str, Field(json_schema_extra={"pattern": SYMBOL_PATTERN}),
                   AfterValidator(normalize_symbol)]
# A built-in's name or the name of one of the owner's saved rule documents.
STRATEGY_NAME_PATTERN = r"^[a-z][a-z0-9_]{2,47}$"
StrategyName = Annotated[str, Field(pattern=STRATEGY_NAME_PATTERN, examples=list(BUILTIN_NAMES),
                                    json_schema_extra={"x-builtins": list(BUILTIN_NAMES)})]

# Dates the engine and the Parquet layout can represent (docs/operations.md): 422 outside.
MIN_DATE = date(1970, 1, 1)
MAX_DATE = date(2100, 12, 31)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY_PATTERN = r"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def _iso_day(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` strings (pydantic alone would also take epoch numbers), or a
    ``date`` built in Python (never from JSON)."""
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("expected a date as YYYY-MM-DD")


def _in_range(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"date must be between {MIN_DATE} and {MAX_DATE}")
    return value


Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_in_range),
                Field(json_schema_extra={"pattern": _DAY_PATTERN})]
def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    return value


# The one coercion rule (README, "Input values"): a number or a numeric string ("5" → 5.0),
# never a boolean; the same rule as strategy params.
Bps = Annotated[float, BeforeValidator(_not_bool), Field(ge=0, le=1000, allow_inf_nan=False)]


class ResultView(StrEnum):
    """``full``: the stored document; ``summary``: without the bulky lists (docs/api.md)."""

    FULL = "full"
    SUMMARY = "summary"


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

# docs/api.md#task-lifecycle: the only transitions there are. Every write is conditional on the source state.
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
    """Body of ``POST /api/backtests/run-async`` and ``/run`` (docs/api.md)."""

    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any] | None = Field(
        default=None,
        description="An inline rule document (schema: GET /api/strategies/schema); "
                    "exactly one of strategy and definition")
    # After ``definition``: its validator sees whether a definition was given.
    strategy: StrategyName | None = Field(
        default=None, validate_default=True,
        description="A built-in or saved strategy's name (GET /api/strategies); "
                    "exactly one of strategy and definition")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Strategy parameters (params_schema of GET /api/strategies)")
    position: PositionInput | None = Field(  # type: ignore[valid-type]
        default=None,
        description="Position configuration: stops, take profit, trailing and time exits, "
                    "sizing, the shared portfolio (docs/positions.md); a rule document's "
                    "position gives defaults, these keys win")
    symbols: list[Symbol] = Field(min_length=1, max_length=MAX_SYMBOLS, examples=[["BTC_KRW"]])
    start_date: Day = Field(description="First day, YYYY-MM-DD (UTC), 1970-01-01 .. 2100-12-31")
    end_date: Day = Field(description="Last day, included whole, YYYY-MM-DD (UTC), >= start_date")
    timeframe: str = Field(default="1d", description="1m 3m 5m 15m 30m 1h 4h 1d 1w",
                           json_schema_extra={"enum": list(ACCEPTED_TIMEFRAMES)})
    fee_bps: Bps = Field(default=5.0, description="Fee per side, basis points")
    slippage_bps: Bps = Field(default=0.0, description="Slippage, basis points")

    @field_validator("strategy")
    @classmethod
    def _one_strategy(cls, value: str | None, info: ValidationInfo) -> str | None:
        if (value is None) == (info.data.get("definition") is None):
            raise ValueError("give exactly one of strategy (a name) and definition (a rule "
                             "document)")
        return value

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

    @property
    def strategy_name(self) -> str:
        """The built-in's name or the rule document's ``name``."""
        return self.strategy or str((self.definition or {}).get("name", ""))

    def canonical_json(self) -> str:
        """Stable JSON used to store the request and to compare idempotent bodies."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def _whole_number(field: str, low: int, high: int, even: bool = False) -> BeforeValidator:
    """A JSON integer in low..high (even when asked), else one message with the rule."""
    rule = f"{field} must be {'an even' if even else 'a whole'} number from {low} to {high}"

    def check(value: Any) -> Any:
        if (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
                or (even and value % 2)):
            raise ValueError(rule)
        return value

    return BeforeValidator(check)


class WalkForwardSpec(BaseModel):
    """``validation.walk_forward`` of a sweep (docs/sweeps.md, "Walk-forward")."""

    model_config = ConfigDict(extra="forbid")

    folds: Annotated[int, _whole_number("folds", 2, 20), Field(
        ge=2, le=20, description="k: the window is cut into k + 1 segments; fold j trains "
        "on segment j - 1 (or 0..j - 1 when anchored) and tests on segment j")]
    anchored: Annotated[bool, Strict()] = Field(
        default=False, description="Train on every segment before the test segment")


class SweepValidation(BaseModel):
    """``validation`` of a sweep: out-of-sample checks to run besides the leaderboard."""

    model_config = ConfigDict(extra="forbid")

    walk_forward: WalkForwardSpec | None = None


RankBy = Literal["portfolio.sharpe", "portfolio.total_return_pct", "portfolio.sortino",
                 "portfolio.max_drawdown_pct", "win_rate", "avg_return", "total_signals"]
MAX_SWEEP_COMBINATIONS = 10_000


class SweepRequest(BacktestRequest):
    """Body of ``POST /api/sweeps/run-async`` (docs/sweeps.md): a run-async body whose ``params``
    are the fixed base, plus the ``grid`` of values to try (Cartesian product, the last key
    varying fastest). Grid values are checked against the strategy by the submit use case."""

    rank_by: RankBy = Field(default="portfolio.sharpe",
                            description="Leaderboard metric (max_drawdown_pct: lower is better)")
    max_combinations: int = Field(default=1000, ge=1, le=MAX_SWEEP_COMBINATIONS)
    grid: dict[str, list[Any]] = Field(
        min_length=1, examples=[{"volume_window": [10, 20, 40], "top_percentile": [0.1, 0.2]}],
        description="{param: [values]}; each key a parameter of the strategy, not in params")
    validation: SweepValidation | None = Field(
        default=None, description='{"walk_forward": {"folds": 2..20, "anchored": false}}')
    pbo_blocks: Annotated[int, _whole_number("pbo_blocks", 4, 32, even=True), Field(
        ge=4, le=32, multiple_of=2,
        description="Blocks S of the probability of backtest overfitting (even, 4..32)")] = 16

    @field_validator("grid", mode="before")
    @classmethod
    def _grid_from_pairs(cls, value: Any) -> Any:
        # The stored form (canonical_json) is [[key, values], ...]: key order is grid order.
        if isinstance(value, list) and all(isinstance(p, list) and len(p) == 2 for p in value):
            return {str(k): v for k, v in value}
        return value

    def canonical_json(self) -> str:
        """As the backtest's, but the grid as ``[[key, values], ...]``: sorting the keys
        would lose the grid order (which decides ties)."""
        data = self.model_dump(mode="json")
        data["grid"] = [[key, values] for key, values in self.grid.items()]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @field_validator("grid")
    @classmethod
    def _grid_shape(cls, value: dict[str, list[Any]], info: ValidationInfo) -> dict[str, list[Any]]:
        clash = sorted(set(value) & set(info.data.get("params") or {}))
        if clash:
            raise ValueError(f"grid keys may not also be in params: {quote_text(', '.join(clash))}")
        empty = sorted(k for k, values in value.items() if not values)
        if empty:
            raise ValueError(f"grid values must be non-empty lists: {quote_text(', '.join(empty))}")
        limit = min(info.data.get("max_combinations") or MAX_SWEEP_COMBINATIONS,
                    MAX_SWEEP_COMBINATIONS)
        total = combination_count(value)
        if total > limit:
            raise ValueError(f"the grid has {total} combinations, more than "
                             f"max_combinations ({limit})")
        return value


def combination_count(grid: dict[str, list[Any]]) -> int:
    """Number of combinations of ``grid`` (the product of its list lengths)."""
    total = 1
    for values in grid.values():
        total *= len(values)
    return total


TaskKind = Literal["backtest", "sweep"]


class QueueMessage(BaseModel):
    """Body of a jobs-queue message: just enough to find the task.

    ``kind`` is "run" (submit: run the task), "watch" (the worker's delayed check on a
    task handed off to Fargate, usecases/long_run.py), or "shard"/"aggregate" (sent by the
    fan-out state machine, with its ``attempt``, the ``shard`` index and the task ``token``
    to answer; usecases/fanout.py); older bodies without ``kind`` are "run".
    """

    task_id: str
    owner: str
    enqueued_at: str
    kind: Literal["run", "watch", "shard", "aggregate"] = "run"
    attempt: int | None = None
    shard: int | None = None
    token: str | None = None


def estimated_candles(request: BacktestRequest) -> int:
    """Upper bound of candles the run reads: symbols × bars in the window.

    >>> estimated_candles(BacktestRequest(strategy="s", symbols=["BTC_KRW"],
    ...     start_date="2024-01-01", end_date="2024-01-02", timeframe="1h"))
    48
    """
    days = (request.end_date - request.start_date).days + 1
    return len(request.symbols) * days * 86400 // TIMEFRAME_SECONDS[request.timeframe]


class ResultSummary(BaseModel):
    """What the task record keeps of its result (history, metrics, the inline decision).
    ``total_signals`` is None for a sweep."""

    model_config = ConfigDict(extra="ignore")

    total_signals: int | None = None
    symbols: list[str] = Field(default_factory=list)
    failed_symbols: list[str] = Field(default_factory=list)
    candles: int = 0
    execution_time: float | None = None
    result_bytes: int = 0


class TaskRecord(BaseModel):
    """One item of the Tasks table (docs/api.md#task-lifecycle). ``expires_at`` is the TTL (epoch seconds)."""

    model_config = ConfigDict(extra="ignore")

    task_id: str
    owner: str
    status: TaskStatus
    request: SweepRequest | BacktestRequest
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
    summary: ResultSummary | None = None
    # Fan-out (docs/sweeps.md): shards of the Step Functions execution; ``shard_size`` =
    # combinations per sweep shard (0: one shard per symbol).
    shards_total: int = 0
    shards_done: int = 0
    shard_size: int = 0
    execution_arn: str | None = None

    @property
    def kind(self) -> TaskKind:
        return "sweep" if isinstance(self.request, SweepRequest) else "backtest"

    @field_validator("request", mode="before")
    @classmethod
    def _request_from_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class TaskCreated(BaseModel):
    task_id: str
    status: TaskStatus
    created_at: str


class SweepCreated(TaskCreated):
    """Answer of ``POST /api/sweeps/run-async``."""

    kind: Literal["sweep"] = "sweep"
    combinations: int
    shards: int


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
    kind: TaskKind = "backtest"
    shards_total: int = Field(default=0, description="Fan-out shards (0: not fanned out)")
    shards_done: int = 0
    attempt: int = Field(default=0, description="Attempts so far (2+: a retry)")


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
    kind: TaskKind = "backtest"


class HistoryPage(BaseModel):
    items: list[HistoryItem]
    next_cursor: str | None


class StrategyInfo(BaseModel):
    name: str
    kind: Literal["builtin", "rules"] = Field(
        "builtin", description="builtin, or rules: one of the caller's saved rule documents")
    version: str | None = Field(
        None, description="A rule document's content hash (12 hex of its sha256)")
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
