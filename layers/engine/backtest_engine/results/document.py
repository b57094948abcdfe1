"""The result document (docs/api.md, "Result document"): the one builder of a backtest's
JSON, used by single runs, fanned-out runs and the CLI alike."""

from __future__ import annotations

from datetime import UTC, date, datetime

from backtest_contract.results import SUMMARY_MAX_TRADES

from ..plan import RunPlan
from ..sim import SimResult, portfolio_block
from ..version import ENGINE_VERSION, RESULT_VERSION
from .encode import json_safe

# Long lists built from floats() or as jsontext.JsonRows: already JSON-safe, and walking
# them would cost seconds.
_BULK = frozenset({"signals", "performance_curve"})
_BULK_PORTFOLIO = frozenset({"equity_curve", "trade_log"})


def root_portfolio(shared: SimResult, symbols: list[dict], timeframe_s: int, fee_bps: float,
                   slippage_bps: float, *, summary: bool = False,
                   rows_as_json: bool = False) -> dict:
    """The shared portfolio's block; its buy and hold is the mean of the symbols' own.
    ``summary``: its trade log cut as the summary view cuts it (``symbol_result``);
    ``rows_as_json``: the trade log as ``jsontext.JsonRows``."""
    holds = [s["portfolio"]["buy_and_hold_return_pct"] for s in symbols]
    return portfolio_block(shared, timeframe_s, sum(holds) / len(holds), fee_bps,
                           slippage_bps, max_trades=SUMMARY_MAX_TRADES if summary else None,
                           rows_as_json=rows_as_json)


def document(*, run_id: str, plan: RunPlan, requested_params: dict, start: date | None, end: date | None,
             timeframe: str, symbols: list[dict], portfolio: dict | None,
             failed: list[dict], execution_time_s: float, environment: str,
             execution_host: str, engine_version: str = ENGINE_VERSION) -> dict:
    """The whole result document, JSON-safe. ``params`` echoes the requested keys with
    their validated values (``"10"`` → 10)."""
    ref = plan.ref
    params = {k: plan.values.get(k, v) for k, v in (requested_params or {}).items()}
    return {
        **json_safe({
            "version": RESULT_VERSION,
            "run_id": run_id,
            "strategy": ref.name,
            "params": params,
            "start_date": start and start.isoformat(),
            "end_date": end and end.isoformat(),
            "timeframe": timeframe,
        }),
        "symbols": [_safe_symbol(s) for s in symbols],
        **json_safe({
            "total_signals": sum(len(s["signals"]) if "signals" in s else s["total_signals"]
                                 for s in symbols),
            "execution_time": execution_time_s,
            "metadata": {
                "execution_date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "environment": environment,
                "execution_host": execution_host,
                "engine_version": engine_version,
            },
            "failed_symbols": failed,
            "description": None,
            "definition": ref.definition,
            "definition_version": ref.version,
            "position": plan.position.model_dump(mode="json"),
        }),
        "portfolio": None if portfolio is None else safe_portfolio(portfolio),
    }


def safe_portfolio(block: dict) -> dict:
    return {k: (v if k in _BULK_PORTFOLIO else json_safe(v)) for k, v in block.items()}


def _safe_symbol(result: dict) -> dict:
    out = {}
    for k, v in result.items():
        if k in _BULK:
            out[k] = v
        elif k == "portfolio":
            out[k] = safe_portfolio(v)
        else:
            out[k] = json_safe(v)
    return out
