"""One symbol's block of the result document: its signals with the signal statistics, and
its own portfolio through the position simulator (docs/engine.md, docs/positions.md)."""

from __future__ import annotations

import numpy as np

from backtest_contract.results import SUMMARY_MAX_TRADES

from ..jsontext import Dates, Times, iso_chars, json_rows, json_string
from ..loading import SymbolData
from ..metrics import compounded_equity, returns_pct, signal_statistics, trade_prices
from ..plan import RunPlan
from ..sim import SimResult, portfolio_block
from ..strategies import Masks
from .encode import floats, iso_many

DAY_S = 86_400


def buy_and_hold_pct(close: np.ndarray) -> float:
    """``(close[n−1] / close[0] − 1)·100``."""
    return (float(close[-1]) / float(close[0]) - 1.0) * 100.0


def signal_figures(close: np.ndarray, masks: Masks, plan: RunPlan, own: SimResult,
                   slippage_bps: float) -> tuple:
    """``(bar index, entry price, exit price, return %, statistics, confidence)`` of the
    signals (see ``symbol_result``)."""
    if plan.ref.kind == "builtin":
        index = masks.entry_index
        entry, exit_ = trade_prices(close, index, plan.hold_bars)
        r_pct = returns_pct(entry, exit_)
        return (index, entry, exit_, r_pct, signal_statistics(r_pct, plan.hold_bars),
                masks.confidence_at(index))
    index = own.entry_bar
    s = slippage_bps / 1e4
    entry, exit_ = own.entry_price / (1 + s), own.exit_price / (1 - s)
    r_pct = returns_pct(entry, exit_)
    stats = signal_statistics(r_pct, 0)
    held = own.exit_bar - own.entry_bar
    stats["avg_hold_bars"] = float(np.mean(held)) if held.shape[0] else 0.0
    return index, entry, exit_, r_pct, stats, np.ones(index.shape[0])


def symbol_result(data: SymbolData, masks: Masks, plan: RunPlan, own: SimResult,
                  timeframe_s: int, fee_bps: float, slippage_bps: float, *,
                  summary: bool = False, rows_as_json: bool = False) -> dict:
    """SymbolResult: ``signals``, the signal statistics, ``performance_curve``, the
    ``portfolio`` block of ``own`` (the symbol's own simulation) and ``data``.

    Built-ins: every entry-mask bar is a signal, an independent trade from ``close[i]`` to
    ``close[min(i+H, n−1)]``. Rule documents: a signal is an executed entry of ``own``, with
    that trade's reference prices (gross: no fees, no slippage) and confidence 1.0.

    ``summary``: the block of the summary view (docs/api.md, "Result views") without
    building what it drops: no ``signals`` (their count is ``total_signals``), no
    ``performance_curve``, the trade log cut to its first SUMMARY_MAX_TRADES trades.

    ``rows_as_json``: ``signals``, ``performance_curve`` and the trade log as
    ``jsontext.JsonRows`` (the same JSON without the dicts, for a caller that only
    encodes the document: ``backtest run --json``).
    """
    c = data.candles
    index, entry, exit_, r_pct, stats, confidence = signal_figures(
        c.close, masks, plan, own, slippage_bps)
    data_block = {"rows": len(c), "first": c.iso(0), "last": c.iso(len(c) - 1),
                  "sha256": c.sha256(), "source": data.source}
    if summary:
        return {
            "symbol": data.symbol, "is_active": True, **stats,
            "portfolio": portfolio_block(own, timeframe_s, buy_and_hold_pct(c.close),
                                         fee_bps, slippage_bps, max_trades=SUMMARY_MAX_TRADES),
            "data": data_block, "total_signals": int(index.shape[0]),
        }
    intraday = timeframe_s < DAY_S
    portfolio = portfolio_block(own, timeframe_s, buy_and_hold_pct(c.close), fee_bps,
                                slippage_bps, rows_as_json=rows_as_json)
    if rows_as_json:
        signals, curve = _json_rows(data.symbol, c.ts_ns[index], entry, exit_, r_pct,
                                    confidence, intraday)
        return {"symbol": data.symbol, "is_active": True, "signals": signals, **stats,
                "performance_curve": curve or None, "portfolio": portfolio,
                "data": data_block}
    stamps = iso_many(c.ts_ns[index])
    rows = zip(stamps, floats(entry), floats(exit_), floats(r_pct / 100), floats(confidence),
               strict=True)
    equity = floats(compounded_equity(r_pct))
    curve = [{"date": ts[:10], **({"timestamp": ts} if intraday else {}), "equity": eq}
             for ts, eq in zip(stamps, equity, strict=True)]
    return {
        "symbol": data.symbol,
        "is_active": True,
        "signals": [
            {"symbol": data.symbol, "type": "buy", "timestamp": ts, "entry_price": en,
             "exit_price": ex, "return_pct": r, "confidence": conf}
            for ts, en, ex, r, conf in rows
        ],
        **stats,
        "performance_curve": curve or None,
        "portfolio": portfolio,
        "data": data_block,
    }


def _json_rows(symbol: str, ts_ns: np.ndarray, entry: np.ndarray, exit_: np.ndarray,
               r_pct: np.ndarray, confidence: np.ndarray, intraday: bool):
    """``symbol_result``'s ``signals`` and performance curve as ``JsonRows``: the same
    keys, order and numbers as its dicts (a non-finite number is null in both)."""
    chars = iso_chars(ts_ns)
    n = ts_ns.shape[0]
    signals = json_rows([
        ("symbol", json_string(symbol)), ("type", '"buy"'), ("timestamp", Times(chars)),
        ("entry_price", entry), ("exit_price", exit_), ("return_pct", r_pct / 100),
        ("confidence", confidence),
    ], n)
    curve = json_rows([
        ("date", Dates(chars)), *([("timestamp", Times(chars))] if intraday else []),
        ("equity", compounded_equity(r_pct)),
    ], n)
    return signals, curve
