"""Fee-aware single-position portfolio statistics (docs/engine.md#metrics). Pure functions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_SECONDS_PER_YEAR = 365 * 86400


@dataclass(frozen=True)
class Trades:
    """Executed trades: entry/exit bar indices and equity before entry/after exit."""

    entry: np.ndarray
    exit: np.ndarray
    equity_before: np.ndarray
    equity_after: np.ndarray
    units: np.ndarray


def simulate(close: np.ndarray, signal_index: np.ndarray, hold_bars: int,
             fee: float, slippage: float) -> Trades:
    """Walk the signals: enter when flat if ``j = min(i+H, n−1) > i``; exit at bar j.

    ``fee`` and ``slippage`` are fractions per side (5 bps = 0.0005). Signals while
    holding, including at the exit bar, are ignored. Equity starts at 1.0 and compounds:
    each trade multiplies it by ``(1−f)²·(1−s)/(1+s)·close[j]/close[i]``.
    """
    n = close.shape[0]
    exits = np.minimum(signal_index + hold_bars, n - 1)
    following = np.searchsorted(signal_index, exits, side="right").tolist()
    starts, taken, k = signal_index.tolist(), [], 0
    while k < len(starts) and starts[k] < n - 1:  # the chain of trades; j > i unless i = n−1
        taken.append(k)
        k = following[k]
    entry, exit_ = signal_index[taken], exits[taken]
    growth = (1 - fee) ** 2 * (1 - slippage) / (1 + slippage) * close[exit_] / close[entry]
    after = np.cumprod(growth)
    before = np.concatenate([[1.0], after[:-1]])
    units = before * (1 - fee) / (close[entry] * (1 + slippage))
    return Trades(entry.astype(np.int64), exit_.astype(np.int64), before, after, units)


def equity_by_bar(close: np.ndarray, trades: Trades) -> np.ndarray:
    """Equity at each close: flat → cash; holding (entry ≤ t < exit) → units·close[t];
    at the exit bar → cash after the exit."""
    t = np.arange(close.shape[0])
    if trades.entry.shape[0] == 0:
        return np.ones(close.shape[0])
    done = np.searchsorted(trades.exit, t, side="right") - 1
    cash = np.where(done >= 0, trades.equity_after[np.maximum(done, 0)], 1.0)
    opened = np.searchsorted(trades.entry, t, side="right") - 1
    safe = np.maximum(opened, 0)
    holding = (opened >= 0) & (t < trades.exit[safe])
    return np.where(holding, trades.units[safe] * close, cash)


def portfolio_statistics(close: np.ndarray, signal_index: np.ndarray, hold_bars: int,
                         timeframe_s: int, fee_bps: float = 5.0,
                         slippage_bps: float = 0.0) -> dict:
    """The ``portfolio`` block: returns and drawdown in percent, annualised ratios with
    ``Y = 365·86400 / timeframe_s`` bars per year, ``profit_factor`` None without losses."""
    return portfolio_with_equity(close, signal_index, hold_bars, timeframe_s, fee_bps,
                                 slippage_bps)[0]


def portfolio_with_equity(close: np.ndarray, signal_index: np.ndarray, hold_bars: int,
                          timeframe_s: int, fee_bps: float = 5.0,
                          slippage_bps: float = 0.0) -> tuple[dict, np.ndarray]:
    """``portfolio_statistics`` and the equity at each close it was computed from."""
    trades = simulate(close, signal_index, hold_bars, fee_bps / 1e4, slippage_bps / 1e4)
    equity = equity_by_bar(close, trades)
    peak = np.maximum(np.maximum.accumulate(equity), 1.0)
    pnl = trades.equity_after - trades.equity_before
    losses = float(-pnl[pnl < 0].sum())
    final = float(trades.equity_after[-1]) if pnl.shape[0] else 1.0
    sharpe, sortino = _ratios(equity, _SECONDS_PER_YEAR / timeframe_s)
    return {
        "total_return_pct": (final - 1.0) * 100.0,
        "buy_and_hold_return_pct": (float(close[-1]) / float(close[0]) - 1.0) * 100.0,
        "max_drawdown_pct": float(np.max(1.0 - equity / peak)) * 100.0,
        "sharpe": sharpe,
        "sortino": sortino,
        "exposure_pct": float(np.sum(trades.exit - trades.entry)) / close.shape[0] * 100.0,
        "trades": int(pnl.shape[0]),
        "win_rate": float(np.mean(pnl > 0)) if pnl.shape[0] else 0.0,
        "profit_factor": float(pnl[pnl > 0].sum()) / losses if losses > 0 else None,
        "fee_bps": float(fee_bps),
        "slippage_bps": float(slippage_bps),
    }, equity


def _ratios(equity: np.ndarray, bars_per_year: float) -> tuple[float, float]:
    """(sharpe, sortino) of per-bar returns; 0.0 when undefined (< 2 returns, zero spread)."""
    if equity.shape[0] < 3:
        return 0.0, 0.0
    r = equity[1:] / equity[:-1] - 1.0
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    scale = math.sqrt(bars_per_year)
    sortino = float(np.mean(r)) / downside * scale if downside > 0 else 0.0
    return sharpe_per_bar(r) * scale, sortino


def sharpe_per_bar(r: np.ndarray) -> float:
    """mean / std(ddof=1) of per-bar returns ``r``; 0.0 with < 2 returns or no spread."""
    if r.shape[0] < 2:
        return 0.0
    mean, std = float(np.mean(r)), float(np.std(r, ddof=1))
    # A spread within float rounding of the mean is no spread (else 1e16-size ratios).
    return mean / std if std > 1e-12 * abs(mean) and std > 0 else 0.0
