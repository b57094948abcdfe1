"""The scheduled refresh (EventBridge → IngestFunction): keep configured symbols current.

Each run fetches, per timeframe, the closed bars not yet stored (the year files' coverage
makes it incremental; a symbol with no data starts at ``INGEST_SINCE``). Every timeframe is
attempted; if any failed, ``refresh`` raises afterwards so the invocation counts as an
error (the IngestErrorsAlarm watches them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from backtest_core.datastore import DataStore
from backtest_ingest.errors import IngestError
from backtest_ingest.exchanges import ExchangeClient, RetryPolicy
from backtest_ingest.fetch import FetchPlan, SymbolReport, fetch


class IngestSettings(BaseModel):
    """Read once at cold start from INGEST_* (and BUCKET/DATA_PREFIX for the store)."""

    bucket: str
    data_prefix: str = "data/"
    exchange: str
    symbols: list[str] = Field(min_length=1)
    timeframes: list[str] = Field(min_length=1)
    since: date
    api_base: str | None = None

    @field_validator("symbols", "timeframes", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IngestSettings:
        env = os.environ if environ is None else environ
        mapping = {"bucket": "BUCKET", "data_prefix": "DATA_PREFIX",
                   "exchange": "INGEST_EXCHANGE", "symbols": "INGEST_SYMBOLS",
                   "timeframes": "INGEST_TIMEFRAMES", "since": "INGEST_SINCE",
                   "api_base": "INGEST_API_BASE"}
        return cls.model_validate({f: env[v] for f, v in mapping.items() if env.get(v)})


def refresh(cfg: IngestSettings, store: DataStore, now: datetime | None = None,
            retry: RetryPolicy = RetryPolicy()) -> list[dict[str, Any]]:
    """Fetch every configured timeframe; a summary per symbol and timeframe."""
    moment = now or datetime.now(UTC)
    summaries: list[dict[str, Any]] = []
    failures: list[str] = []
    for timeframe in cfg.timeframes:
        client = ExchangeClient(cfg.exchange, api_base=cfg.api_base, retry=retry)
        try:
            plan = FetchPlan.build(cfg.symbols, timeframe, cfg.since, None, moment)
            reports = fetch(plan, client, store)
        except (IngestError, ValueError) as exc:
            failures.append(f"{timeframe}: {exc}")
            continue
        summaries += [_summary(r, plan.timeframe) for r in reports]
    if failures:
        raise IngestError("; ".join(failures))
    return summaries


def _summary(report: SymbolReport, timeframe: str) -> dict[str, Any]:
    return {"symbol": report.symbol, "timeframe": timeframe, "rows": report.rows,
            "last": report.last, "fetched_rows": report.fetched_rows,
            "requests": report.requests, "files": report.files,
            "gaps": len(report.gaps)}
