"""Typed settings, read once from the environment at cold start (nothing else reads it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache

from pydantic import BaseModel, Field, field_validator


class Settings(BaseModel):
    """Resource names and knobs of every function. Resource names have no defaults."""

    tasks_table: str
    jobs_queue_url: str
    bucket: str
    idempotency_table: str
    # Saved rule documents (docs/rules.md); unset: saving is unavailable.
    strategies_table: str | None = None
    data_prefix: str = "data/"
    results_prefix: str = "results/"
    task_ttl_hours: float = Field(default=168, gt=0)
    lease_seconds: int = Field(default=20, ge=5)  # renewed every third (docs/operations.md)
    visibility_timeout_s: int = Field(default=5400, ge=0, le=43200,
                                      description="the jobs queue's VisibilityTimeout")
    max_receives: int = Field(default=3, ge=1, description="the jobs queue's maxReceiveCount")
    # The reaper watches running leases for this long after its scheduled pass (0: one
    # pass), waking when the next lease expires (usecases/reaper.py, docs/operations.md).
    reaper_watch_s: float = Field(default=0, ge=0, le=840)
    environment: str = "dev"
    sync_max_candles: int = Field(default=200_000, ge=1)
    retry_backoff_s: int = Field(default=30, ge=0, le=43200,
                                 description="visibility after a transient failure, × receives")
    tracing_enabled: bool = False
    progress_interval_s: float = Field(default=1.0, ge=0, description="min gap between writes")
    # Long runs on Fargate (0 = disabled): a task whose estimated candles reach this count
    # runs in the container instead of the worker Lambda (usecases/long_run.py).
    fargate_min_candles: int = Field(default=0, ge=0)
    fargate_cluster: str | None = None
    fargate_task_definition: str | None = None
    fargate_subnets: list[str] = Field(default_factory=list)
    fargate_security_groups: list[str] = Field(default_factory=list)
    fargate_container: str = "runner"
    # Fan-out on Step Functions (docs/sweeps.md, usecases/fanout.py): the state machine (unset: no
    # sweeps, plain runs never fan out), the candle count from which a plain run with ≥ 2
    # symbols runs one shard per symbol, combinations per sweep shard, the lease of a
    # fanned-out attempt (renewed by every finished shard), SendTaskHeartbeat interval.
    state_machine_arn: str | None = None
    fanout_min_candles: int = Field(default=500_000, ge=1)
    sweep_shard_combinations: int = Field(default=512, ge=1)
    fanout_lease_s: int = Field(default=1800, ge=5)
    shard_heartbeat_s: float = Field(default=30, gt=0)

    @field_validator("fargate_subnets", "fargate_security_groups", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def fargate_enabled(self) -> bool:
        """True when long runs go to ECS (threshold set and a cluster to run them in)."""
        return self.fargate_min_candles > 0 and bool(self.fargate_cluster)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        mapping = {
            "tasks_table": "TASKS_TABLE",
            "jobs_queue_url": "JOBS_QUEUE_URL",
            "bucket": "BUCKET",
            "idempotency_table": "IDEMPOTENCY_TABLE",
            "strategies_table": "STRATEGIES_TABLE",
            "data_prefix": "DATA_PREFIX",
            "results_prefix": "RESULTS_PREFIX",
            "task_ttl_hours": "TASK_TTL_HOURS",
            "lease_seconds": "LEASE_SECONDS",
            "visibility_timeout_s": "JOBS_VISIBILITY_TIMEOUT_S",
            "max_receives": "JOBS_MAX_RECEIVES",
            "reaper_watch_s": "REAPER_WATCH_S",
            "environment": "ENVIRONMENT",
            "sync_max_candles": "SYNC_MAX_CANDLES",
            "progress_interval_s": "PROGRESS_INTERVAL_S",
            "retry_backoff_s": "RETRY_BACKOFF_S",
            "fargate_min_candles": "FARGATE_MIN_CANDLES",
            "fargate_cluster": "FARGATE_CLUSTER",
            "fargate_task_definition": "FARGATE_TASK_DEFINITION",
            "fargate_subnets": "FARGATE_SUBNETS",
            "fargate_security_groups": "FARGATE_SECURITY_GROUPS",
            "fargate_container": "FARGATE_CONTAINER",
            "state_machine_arn": "STATE_MACHINE_ARN",
            "fanout_min_candles": "FANOUT_MIN_CANDLES",
            "sweep_shard_combinations": "SWEEP_SHARD_COMBINATIONS",
            "fanout_lease_s": "FANOUT_LEASE_S",
            "shard_heartbeat_s": "SHARD_HEARTBEAT_S",
        }
        values: dict[str, object] = {
            field: env[var] for field, var in mapping.items() if env.get(var)
        }
        values["tracing_enabled"] = env.get("POWERTOOLS_TRACE_DISABLED", "true") == "false"
        return cls.model_validate(values)


@cache
def settings() -> Settings:
    """The process's settings, read on first use (a function's cold start)."""
    return Settings.from_env()
