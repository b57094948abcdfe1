"""Result views (docs/api.md "Result views"): the summary document and the trade log as CSV.

Pure functions of a stored result document; the read side (usecases/query.py) fetches it.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from backtest_contract.results import SUMMARY_MAX_TRADES

__all__ = ["SUMMARY_MAX_TRADES", "TRADE_COLUMNS", "headline_trades", "run_symbols",
           "summary_document", "symbol_trades", "trades_csv"]
# Per-bar / per-signal lists the summary drops from every symbol.
_BULK_SYMBOL_KEYS = ("signals", "performance_curve")
TRADE_COLUMNS = ("symbol", "entry_time", "entry_price", "exit_time", "exit_price",
                 "exit_reason", "bars_held", "quantity", "entry_notional", "fees", "pnl",
                 "return_pct")


def summary_document(document: dict[str, Any]) -> dict[str, Any]:
    """The document without ``signals`` (each symbol keeps their count as
    ``total_signals``) and ``performance_curve``, and with every
    ``trade_log`` cut to its first SUMMARY_MAX_TRADES trades (``trade_log_truncated: true``
    beside a cut one). Everything else — metrics, portfolio blocks and their sampled
    ``equity_curve`` — is kept as stored."""
    out = dict(document)
    if isinstance(out.get("symbols"), list):
        out["symbols"] = [_summary_symbol(s) for s in out["symbols"]]
    if isinstance(out.get("portfolio"), dict):
        out["portfolio"] = _summary_block(out["portfolio"])
    return out


def _summary_symbol(symbol: Any) -> Any:
    if not isinstance(symbol, dict):
        return symbol
    out = {k: v for k, v in symbol.items() if k not in _BULK_SYMBOL_KEYS}
    if isinstance(symbol.get("signals"), list):
        out.setdefault("total_signals", len(symbol["signals"]))  # the count survives
    if isinstance(out.get("portfolio"), dict):
        out["portfolio"] = _summary_block(out["portfolio"])
    return out


def _summary_block(block: dict[str, Any]) -> dict[str, Any]:
    trades = block.get("trade_log")
    if not isinstance(trades, list) or len(trades) <= SUMMARY_MAX_TRADES:
        return block
    return {**block, "trade_log": trades[:SUMMARY_MAX_TRADES], "trade_log_truncated": True}


def headline_trades(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The trade log of the headline portfolio: the root block of a multi-symbol run
    (one cash pool), else each symbol's own block, in symbol order."""
    root = document.get("portfolio")
    if isinstance(root, dict) and isinstance(root.get("trade_log"), list):
        return list(root["trade_log"])
    trades: list[dict[str, Any]] = []
    for symbol in document.get("symbols") or []:
        block = symbol.get("portfolio") if isinstance(symbol, dict) else None
        if isinstance(block, dict):
            trades.extend(block.get("trade_log") or [])
    return trades


def symbol_trades(document: dict[str, Any], symbol: str) -> list[dict[str, Any]] | None:
    """The trade log of ``symbol``'s own portfolio block; None when the run has no such
    symbol."""
    for entry in document.get("symbols") or []:
        if isinstance(entry, dict) and entry.get("symbol") == symbol:
            block = entry.get("portfolio")
            return list(block.get("trade_log") or []) if isinstance(block, dict) else []
    return None


def run_symbols(document: dict[str, Any]) -> list[str]:
    return [str(s.get("symbol")) for s in document.get("symbols") or [] if isinstance(s, dict)]


def trades_csv(trades: list[dict[str, Any]]) -> str:
    """Trades as CSV with a header row; columns are TRADE_COLUMNS, numbers as stored."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    for trade in trades:
        writer.writerow(["" if trade.get(c) is None else trade.get(c) for c in TRADE_COLUMNS])
    return buf.getvalue()
