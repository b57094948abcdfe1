"""The result document (SPEC section 7, version 1.2.0): per-symbol blocks and assembly."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np

from .loading import SymbolData
from .metrics import compounded_equity, returns_pct, signal_statistics, trade_prices
from .portfolio import portfolio_statistics
from .strategies import Signals
from .version import ENGINE_VERSION, RESULT_VERSION


def symbol_result(data: SymbolData, signals: Signals, hold_bars: int, timeframe_s: int,
                  fee_bps: float, slippage_bps: float) -> dict:
    """SymbolResult: signals, the 4.1 statistics, the 4.2 ``portfolio`` and ``data`` blocks."""
    c = data.candles
    entry, exit_ = trade_prices(c.close, signals.index, hold_bars)
    r_pct = returns_pct(entry, exit_)
    stamps = [c.iso(i) for i in signals.index.tolist()]
    rows = zip(stamps, entry.tolist(), exit_.tolist(), (r_pct / 100).tolist(),
               signals.confidence.tolist(), strict=True)
    curve = [{"date": ts[:10], "equity": eq}
             for ts, eq in zip(stamps, compounded_equity(r_pct).tolist(), strict=True)]
    return {
        "symbol": data.symbol,
        "is_active": True,
        "signals": [
            {"symbol": data.symbol, "type": "buy", "timestamp": ts, "entry_price": en,
             "exit_price": ex, "return_pct": r, "confidence": conf}
            for ts, en, ex, r, conf in rows
        ],
        **signal_statistics(r_pct, hold_bars),
        "performance_curve": curve or None,
        "portfolio": portfolio_statistics(c.close, signals.index, hold_bars, timeframe_s,
                                          fee_bps, slippage_bps),
        "data": {"rows": len(c), "first": c.iso(0), "last": c.iso(len(c) - 1),
                 "sha256": c.sha256(), "source": data.source},
    }


def document(*, run_id: str, strategy: str, params: dict, start: date, end: date,
             timeframe: str, symbols: list[dict], failed: list[dict], execution_time_s: float,
             environment: str, execution_host: str) -> dict:
    """The whole result document, JSON-safe (plain Python types, no NaN/inf)."""
    return json_safe({
        "version": RESULT_VERSION,
        "run_id": run_id,
        "strategy": strategy,
        "params": params,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "timeframe": timeframe,
        "symbols": symbols,
        "total_signals": sum(len(s["signals"]) for s in symbols),
        "execution_time": execution_time_s,
        "metadata": {
            "execution_date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "environment": environment,
            "execution_host": execution_host,
            "engine_version": ENGINE_VERSION,
        },
        "failed_symbols": failed,
        "description": None,
    })


def json_safe(value):
    """Plain JSON types: numpy scalars → Python, tuples → lists, non-finite floats → None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value
