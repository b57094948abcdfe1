"""Wiring: the repository, queue and stores of one process, built once from settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from backtest_core import aws
from backtest_core.launcher import EcsLauncher, Launcher
from backtest_core.queue import JobQueue
from backtest_core.repository import TaskRepository
from backtest_core.settings import Settings, settings
from backtest_core.stepfunctions import StateMachine
from backtest_core.storage import ResultStore, S3CandleReader
from backtest_core.stored_timeframes import StoredTimeframes
from backtest_core.strategy_store import StrategyStore
from backtest_core.timeutil import utc_now


@dataclass
class Services:
    settings: Settings
    tasks: TaskRepository
    queue: JobQueue
    results: ResultStore
    candles: S3CandleReader
    sfn: StateMachine = field(default_factory=lambda: StateMachine(lambda: None, None))
    strategies: StrategyStore = field(default_factory=lambda: StrategyStore(None, None))
    clock: Callable[[], datetime] = field(default=utc_now)
    # Starts Fargate containers for long runs; None = every run stays in the worker Lambda.
    # The local stack injects its subprocess stand-in here.
    launcher: Launcher | None = None
    # What is stored per symbol, for the submit's early 422 (stored_timeframes.py); None
    # skips the check (the worker and the reaper never need it).
    stored: StoredTimeframes | None = None

    @classmethod
    def from_settings(cls, cfg: Settings, clock: Callable[[], datetime] = utc_now) -> Services:
        s3 = aws.client("s3")
        launcher = EcsLauncher(aws.client("ecs"), cfg) if cfg.fargate_enabled else None
        candles = S3CandleReader(s3, cfg.bucket, cfg.data_prefix)
        return cls(
            settings=cfg,
            tasks=TaskRepository(aws.client("dynamodb"), cfg.tasks_table, cfg.task_ttl_hours,
                                 queued_lease_s=cfg.visibility_timeout_s),
            queue=JobQueue(aws.client("sqs"), cfg.jobs_queue_url),
            results=ResultStore(s3, cfg.bucket, cfg.results_prefix),
            candles=candles,
            sfn=StateMachine(lambda: aws.client("stepfunctions"), cfg.state_machine_arn),
            strategies=StrategyStore(aws.client("dynamodb"), cfg.strategies_table),
            clock=clock,
            launcher=launcher,
            stored=StoredTimeframes(lambda: candles.list("")),
        )


@cache
def services() -> Services:
    """This process's services (first call = cold start)."""
    return Services.from_settings(settings())
