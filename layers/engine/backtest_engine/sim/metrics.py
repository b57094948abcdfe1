"""A simulation's ``portfolio`` block: the fee-aware metrics, the sampled equity curve and
the trade log (docs/positions.md, "Results")."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from backtest_engine.jsontext import (
    JsonRows,
    Labels,
    Times,
    iso_chars,
    json_rows,
    json_string,
    lines,
)
from backtest_engine.portfolio import sharpe_per_bar
from backtest_engine.sim.inputs import REASONS
from backtest_engine.sim.result import SimResult

_SECONDS_PER_YEAR = 365 * 86400
CURVE_POINTS = 2000


def portfolio_block(result: SimResult, timeframe_s: int, buy_and_hold_return_pct: float,
                    fee_bps: float, slippage_bps: float, *, detail: bool = True,
                    max_trades: int | None = None, rows_as_json: bool = False) -> dict:
    """Metrics from the full equity series (percentages in percent; ``sharpe``/``sortino``
    annualised with 365·86400 / timeframe_s bars per year; ``profit_factor`` None without
    a losing trade), plus ``final_equity``, ``skipped_entries`` and, with ``detail`` (not in
    sweeps' leaderboards), ``equity_curve`` (at most 2,000 points) and ``trade_log`` (one
    dict per trade, in fill order). With ``max_trades`` the log keeps its first
    ``max_trades`` trades and says ``trade_log_truncated: true`` after it when it was cut
    (the summary view; the metrics still count every trade). ``rows_as_json``: the trade
    log as ``JsonRows`` (the same JSON, no dicts; ``jsontext``)."""
    equity, start = result.equity, result.initial_capital
    peak = np.maximum(np.maximum.accumulate(equity), start)
    pnl = result.pnl
    losses = float(-pnl[pnl < 0].sum())
    sharpe, sortino = _ratios(equity, _SECONDS_PER_YEAR / timeframe_s)
    block = {
        "total_return_pct": (result.final_equity / start - 1.0) * 100.0,
        "buy_and_hold_return_pct": float(buy_and_hold_return_pct),
        "max_drawdown_pct": float(np.max(1.0 - equity / peak)) * 100.0,
        "sharpe": sharpe,
        "sortino": sortino,
        "exposure_pct": result.exposed_bars / equity.shape[0] * 100.0,
        "trades": result.trades,
        "win_rate": float(np.mean(pnl > 0)) if pnl.shape[0] else 0.0,
        "profit_factor": float(pnl[pnl > 0].sum()) / losses if losses > 0 else None,
        "fee_bps": float(fee_bps),
        "slippage_bps": float(slippage_bps),
        "final_equity": result.final_equity,
        "skipped_entries": result.skipped_entries,
    }
    if detail:
        block["equity_curve"] = equity_curve(result.timeline_ns, equity)
        block["trade_log"] = trade_log(result, max_trades, rows_as_json=rows_as_json)
        if max_trades is not None and result.trades > max_trades:
            block["trade_log_truncated"] = True
    return block


def curve_indices(n: int) -> np.ndarray:
    """Every index when n ≤ 2,000, else round(k·(n−1)/1999) for k = 0 … 1999."""
    if n <= CURVE_POINTS:
        return np.arange(n)
    k = np.arange(CURVE_POINTS)
    return np.rint(k * (n - 1) / (CURVE_POINTS - 1)).astype(np.int64)


def equity_curve(timeline_ns: np.ndarray, equity: np.ndarray) -> dict:
    """``{t: [ISO Z …], equity: […]}`` at ``curve_indices``."""
    at = curve_indices(equity.shape[0])
    return {"t": iso_times(timeline_ns[at]), "equity": equity[at].tolist()}


def trade_log(result: SimResult, limit: int | None = None, *,
              rows_as_json: bool = False) -> list[dict] | JsonRows:
    """The trades as dicts: symbol, entry/exit time (ISO Z) and fill price, exit_reason,
    bars_held, quantity, entry_notional, fees, pnl (block currency), return_pct (net %);
    the first ``limit`` trades only when given. ``rows_as_json``: the same rows as
    ``JsonRows`` (a non-finite ``return_pct`` is null in both)."""
    if limit is not None and result.trades > limit:
        result = _first_trades(result, limit)
    if rows_as_json:
        return _trade_rows(result)
    names = np.array(result.symbols, dtype=object)
    reasons = np.array(REASONS, dtype=object)
    rows = zip(names[result.trade_symbol].tolist(), iso_times(result.entry_ns),
               result.entry_price.tolist(), iso_times(result.exit_ns),
               result.exit_price.tolist(), reasons[result.reason].tolist(),
               (result.exit_bar - result.entry_bar).tolist(), result.quantity.tolist(),
               result.entry_notional.tolist(), result.fees.tolist(), result.pnl.tolist(),
               result.return_pct.tolist(), strict=True)
    return [{"symbol": s, "entry_time": et, "entry_price": ep, "exit_time": xt,
             "exit_price": xp, "exit_reason": why, "bars_held": held, "quantity": q,
             "entry_notional": notional, "fees": fees, "pnl": pnl, "return_pct": r}
            for s, et, ep, xt, xp, why, held, q, notional, fees, pnl, r in rows]


def _trade_rows(result: SimResult) -> JsonRows | list:
    """``trade_log``'s rows as JSON text, column by column."""
    names = result.symbols
    return json_rows([  # one symbol: one token shared by every row
        ("symbol", json_string(names[0]) if len(names) == 1
         else Labels(names, result.trade_symbol)),
        ("entry_time", Times(iso_chars(result.entry_ns))),
        ("entry_price", result.entry_price),
        ("exit_time", Times(iso_chars(result.exit_ns))),
        ("exit_price", result.exit_price),
        ("exit_reason", Labels(REASONS, result.reason)),
        ("bars_held", result.exit_bar - result.entry_bar),
        ("quantity", result.quantity),
        ("entry_notional", result.entry_notional),
        ("fees", result.fees),
        ("pnl", result.pnl),
        ("return_pct", result.return_pct),
    ], result.trades)


def _first_trades(result: SimResult, limit: int) -> SimResult:
    cut = {name: getattr(result, name)[:limit] for name in (
        "trade_symbol", "entry_bar", "exit_bar", "entry_ns", "exit_ns", "entry_price",
        "exit_price", "reason", "quantity", "entry_notional", "fees", "pnl", "return_pct")}
    return dataclasses.replace(result, **cut)


def iso_times(ts_ns: np.ndarray) -> list[str]:
    """``YYYY-MM-DDTHH:MM:SSZ`` of int64 UTC nanoseconds (``jsontext.iso_chars``: one
    byte buffer for all of them, split once)."""
    return lines(iso_chars(ts_ns))


def _ratios(equity: np.ndarray, bars_per_year: float) -> tuple[float, float]:
    """(sharpe, sortino) of per-bar returns, as the built-in portfolio computes them;
    0.0 when undefined (< 2 returns, no spread, no downside)."""
    if equity.shape[0] < 3:
        return 0.0, 0.0
    r = equity[1:] / equity[:-1] - 1.0
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    scale = math.sqrt(bars_per_year)
    sortino = float(np.mean(r)) / downside * scale if downside > 0 else 0.0
    return sharpe_per_bar(r) * scale, sortino
