"""Signal statistics of docs/engine.md#metrics (compatible with the older system; no fees). Pure."""

from __future__ import annotations

import numpy as np


def trade_prices(close: np.ndarray, index: np.ndarray, hold_bars: int):
    """Entry ``close[i]`` and exit ``close[min(i + H, n − 1)]`` prices of each signal."""
    exit_index = np.minimum(index + hold_bars, close.shape[0] - 1)
    return close[index], close[exit_index]


def returns_pct(entry: np.ndarray, exit_: np.ndarray) -> np.ndarray:
    """Per-trade return in percent: ``(exit − entry) / entry × 100``."""
    return (exit_ - entry) / entry * 100.0


def signal_statistics(r_pct: np.ndarray, hold_bars: int) -> dict[str, float]:
    """``win_rate`` (fraction), ``avg_return`` (%), ``max_drawdown`` (% points),
    ``avg_hold_bars`` of independent trades with returns ``r_pct`` (percent).

    max_drawdown is the largest fall of the running sum of returns below its running
    maximum (the maximum starting at the first trade). All zero without trades.

    >>> signal_statistics(np.array([-0.5, 3.0, -1.0]), 1)["max_drawdown"]
    1.0
    """
    if r_pct.shape[0] == 0:
        return {"win_rate": 0.0, "avg_return": 0.0, "max_drawdown": 0.0, "avg_hold_bars": 0.0}
    running = np.cumsum(r_pct)
    drawdown = np.maximum.accumulate(running) - running
    return {
        "win_rate": float(np.mean(r_pct > 0)),
        "avg_return": float(np.mean(r_pct)),
        "max_drawdown": float(max(np.max(drawdown), 0.0)),
        "avg_hold_bars": float(hold_bars),
    }


def compounded_equity(r_pct: np.ndarray) -> np.ndarray:
    """Equity after each trade: ``Π_{m≤j} (1 + r_m/100)`` (the performance curve)."""
    return np.cumprod(1.0 + r_pct / 100.0)
