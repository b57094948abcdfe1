"""A simulation's ``portfolio`` block: the fee-aware metrics, the sampled equity curve and
the trade log (docs/positions.md, "Results")."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from backtest_engine.portfolio import sharpe_per_bar
from backtest_engine.sim.inputs import REASONS
from backtest_engine.sim.result import SimResult

_SECONDS_PER_YEAR = 365 * 86400
CURVE_POINTS = 2000


def portfolio_block(result: SimResult, timeframe_s: int, buy_and_hold_return_pct: float,
                    fee_bps: float, slippage_bps: float, *, detail: bool = True,
                    max_trades: int | None = None) -> dict:
    """Metrics from the full equity series (percentages in percent; ``sharpe``/``sortino``
    annualised with 365·86400 / timeframe_s bars per year; ``profit_factor`` None without
    a losing trade), plus ``final_equity``, ``skipped_entries`` and, with ``detail`` (not in
    sweeps' leaderboards), ``equity_curve`` (at most 2,000 points) and ``trade_log`` (one
    dict per trade, in fill order). With ``max_trades`` the log keeps its first
    ``max_trades`` trades and says ``trade_log_truncated: true`` after it when it was cut
    (the summary view; the metrics still count every trade)."""
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
        block["trade_log"] = trade_log(result, max_trades)
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


def trade_log(result: SimResult, limit: int | None = None) -> list[dict]:
    """The trades as dicts: symbol, entry/exit time (ISO Z) and fill price, exit_reason,
    bars_held, quantity, entry_notional, fees, pnl (block currency), return_pct (net %);
    the first ``limit`` trades only when given."""
    if limit is not None and result.trades > limit:
        result = _first_trades(result, limit)
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


def _first_trades(result: SimResult, limit: int) -> SimResult:
    cut = {name: getattr(result, name)[:limit] for name in (
        "trade_symbol", "entry_bar", "exit_bar", "entry_ns", "exit_ns", "entry_price",
        "exit_price", "reason", "quantity", "entry_notional", "fees", "pnl", "return_pct")}
    return dataclasses.replace(result, **cut)


_ISO_TEMPLATE = np.frombuffer(b"0000-00-00T00:00:00Z\n", dtype=np.uint8)


def iso_times(ts_ns: np.ndarray) -> list[str]:
    """``YYYY-MM-DDTHH:MM:SSZ`` of int64 UTC nanoseconds (whose range, 1677 … 2262, has
    four-digit years), as ``numpy.datetime_as_string(…, timezone="UTC")`` writes them. The
    digits go into one byte buffer that is split: twice as fast on a document's ~10⁵."""
    seconds = np.asarray(ts_ns, dtype=np.int64) // 10**9  # floor: before 1970 too
    if not seconds.shape[0]:
        return []
    days, sec = np.divmod(seconds, 86_400)
    # the civil date of a day number (H. Hinnant, "chrono-compatible date algorithms")
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    out = np.empty((seconds.shape[0], _ISO_TEMPLATE.shape[0]), dtype=np.uint8)
    out[:] = _ISO_TEMPLATE
    for col, value, width in ((0, year, 4), (5, month, 2), (8, day, 2), (11, sec // 3600, 2),
                              (14, sec // 60 % 60, 2), (17, sec % 60, 2)):
        for place in range(width):
            out[:, col + width - 1 - place] += (value // 10**place % 10).astype(np.uint8)
    return out.tobytes().decode("ascii").split("\n")[:-1]


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
