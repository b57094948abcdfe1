"""The result document (SPEC section 7, version 1.2.0): per-symbol blocks and assembly."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np

from .loading import SymbolData
from .metrics import compounded_equity, returns_pct, signal_statistics, trade_prices
from .portfolio import portfolio_statistics
from .strategies import Masks
from .version import ENGINE_VERSION, RESULT_VERSION


def symbol_result(data: SymbolData, masks: Masks, hold_bars: int, timeframe_s: int,
                  fee_bps: float, slippage_bps: float) -> dict:
    """SymbolResult: signals, the 4.1 statistics, the 4.2 ``portfolio`` and ``data`` blocks."""
    c = data.candles
    index = masks.entry_index
    entry, exit_ = trade_prices(c.close, index, hold_bars)
    r_pct = returns_pct(entry, exit_)
    stamps = iso_many(c.ts_ns[index])
    rows = zip(stamps, _floats(entry), _floats(exit_), _floats(r_pct / 100),
               _floats(masks.confidence_at(index)), strict=True)
    curve = [{"date": ts[:10], "equity": eq}
             for ts, eq in zip(stamps, _floats(compounded_equity(r_pct)), strict=True)]
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
        "portfolio": portfolio_statistics(c.close, index, hold_bars, timeframe_s,
                                          fee_bps, slippage_bps),
        "data": {"rows": len(c), "first": c.iso(0), "last": c.iso(len(c) - 1),
                 "sha256": c.sha256(), "source": data.source},
    }


def iso_many(ts_ns: np.ndarray) -> list[str]:
    """``iso_from_ns`` for an array of epoch ns, vectorised."""
    text = np.datetime_as_string(ts_ns.astype("datetime64[ns]").astype("datetime64[s]"), "s")
    return [t + "Z" for t in text.tolist()]


def document(*, run_id: str, strategy: str, params: dict, start: date, end: date,
             timeframe: str, symbols: list[dict], failed: list[dict], execution_time_s: float,
             environment: str, execution_host: str) -> dict:
    """The whole result document, JSON-safe (plain Python types, no NaN/inf)."""
    return _safe_top({
        "version": RESULT_VERSION,
        "run_id": run_id,
        "strategy": strategy,
        "params": params,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "timeframe": timeframe,
        "symbols": [_safe_symbol(s) for s in symbols],
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


_BULK = ("signals", "performance_curve")  # long lists built by _floats: already safe


def _floats(values: np.ndarray) -> list:
    """Plain floats; a non-finite value becomes None (JSON null)."""
    if np.isfinite(values).all():
        return values.tolist()
    return [v if math.isfinite(v) else None for v in values.tolist()]


def _safe_symbol(result: dict) -> dict:
    return {k: (v if k in _BULK else json_safe(v)) for k, v in result.items()}


def _safe_top(doc: dict) -> dict:
    return {k: (v if k == "symbols" else json_safe(v)) for k, v in doc.items()}


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
