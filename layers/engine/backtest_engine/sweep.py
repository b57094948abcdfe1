"""Many parameter combinations on one symbol's candles: loaded and validated once.

``evaluate_combinations`` returns, per combination, the per-symbol block of a sweep
leaderboard entry (SPEC §9): ``{total_signals, win_rate, avg_return, max_drawdown,
portfolio}`` — each value computed by the same functions as a single backtest, so equal
to it — plus ``stats`` for the deflated Sharpe ratio: the per-bar Sharpe of the portfolio
equity returns and their skewness and (non-excess) kurtosis.

Shared work: ``Strategy.signals_for`` (e.g. one volume profile per (include_wicks, W, K)
for every p, b and H of the grid).
"""

from __future__ import annotations

import math

import numpy as np

from .loading import SymbolData, load_symbol
from .metrics import returns_pct, signal_statistics, trade_prices
from .portfolio import portfolio_with_equity, sharpe_per_bar
from .progress import CancelFn, ProgressTracker
from .readers import CandleReader
from .result import json_safe
from .runner import RunSpec
from .strategies import Strategy, parse_params, resolve
from .symbols import normalize_timeframe, timeframe_seconds


def run_sweep_shard(spec: RunSpec, reader: CandleReader, symbol: str,
                    combinations: list[dict], should_cancel: CancelFn | None = None) -> dict:
    """One shard of a sweep: load ``symbol`` once, evaluate every combination (full
    parameter dicts) on it. ``{symbol, bars, failed_reason, entries}``; ``failed_reason``
    is set (and ``entries`` empty) when the symbol has no candles in the window.

    Raises ParamsError (a combination is invalid), DataError, BacktestCancelled.
    """
    _, strategy = resolve(spec.strategy, spec.definition)
    params = [parse_params(strategy, combo) for combo in combinations]
    timeframe = normalize_timeframe(spec.timeframe)
    tracker = ProgressTracker(None, should_cancel)
    tracker.force(0.0, "loading_data")
    outcome = load_symbol(reader, symbol, timeframe, spec.start_date, spec.end_date)
    if isinstance(outcome, str):
        return {"symbol": symbol, "bars": 0, "failed_reason": outcome, "entries": []}
    entries = evaluate_combinations(outcome, strategy, params, timeframe_seconds(timeframe),
                                    spec.fee_bps, spec.slippage_bps, tracker)
    return {"symbol": symbol, "bars": len(outcome.candles), "failed_reason": None,
            "entries": entries}


def evaluate_combinations(data: SymbolData, strategy: Strategy, params: list,
                          timeframe_s: int, fee_bps: float, slippage_bps: float,
                          tracker: ProgressTracker | None = None) -> list[dict]:
    """The per-symbol sweep block of every parameter set, in order (see module doc)."""
    tracker = tracker or ProgressTracker()
    total = max(len(data.candles) * len(params), 1)
    state = {"bars": 0}

    def _tick(bars: int) -> None:
        state["bars"] += bars
        tracker.update(0.8 * min(state["bars"] / total, 1.0), "running_strategy")

    signals = strategy.masks_for(data.candles, params, _tick)
    close = data.candles.close
    out = []
    for done, (p, sig) in enumerate(zip(params, signals, strict=True)):
        tracker.update(0.8 + 0.2 * done / len(params), "calculating_metrics")
        index = sig.entry_index
        entry, exit_ = trade_prices(close, index, p.hold_period_bars)
        stats = signal_statistics(returns_pct(entry, exit_), p.hold_period_bars)
        portfolio, equity = portfolio_with_equity(close, index, p.hold_period_bars,
                                                  timeframe_s, fee_bps, slippage_bps)
        out.append({
            "total_signals": int(index.shape[0]),
            "win_rate": stats["win_rate"],
            "avg_return": stats["avg_return"],
            "max_drawdown": stats["max_drawdown"],
            "portfolio": json_safe(portfolio),
            "stats": json_safe(return_moments(equity)),
        })
    return out


def return_moments(equity: np.ndarray) -> dict[str, float]:
    """``sharpe_per_bar`` (mean/std, ddof 1), ``skewness`` and non-excess ``kurtosis``
    (population moments m3/m2^1.5, m4/m2²) of the per-bar returns of ``equity``.
    Without spread: skewness 0 and kurtosis 3 (the normal's; they only matter when the
    Sharpe ratio is not 0)."""
    r = equity[1:] / equity[:-1] - 1.0 if equity.shape[0] > 1 else np.empty(0)
    sharpe = sharpe_per_bar(r)
    if r.shape[0] < 2:
        return {"sharpe_per_bar": sharpe, "skewness": 0.0, "kurtosis": 3.0}
    d = r - float(np.mean(r))
    m2 = float(np.mean(d * d))
    if m2 <= 0 or not math.isfinite(m2):
        return {"sharpe_per_bar": sharpe, "skewness": 0.0, "kurtosis": 3.0}
    return {"sharpe_per_bar": sharpe,
            "skewness": float(np.mean(d ** 3)) / m2 ** 1.5,
            "kurtosis": float(np.mean(d ** 4)) / m2 ** 2}
