"""Many parameter combinations on one symbol's candles: loaded and validated once.

``evaluate_combinations`` returns, per combination, the per-symbol block of a sweep
leaderboard entry (SPEC §9): ``{total_signals, win_rate, avg_return, max_drawdown,
portfolio}`` — each value computed by the same functions as a single backtest, so equal
to it — plus ``stats`` for the deflated Sharpe ratio: the per-bar Sharpe of the portfolio
equity returns and their skewness and (non-excess) kurtosis.

Shared work: ``Strategy.masks_for`` (e.g. one volume profile per (include_wicks, W, K)
for every p, b and H of the grid; one indicator computation per distinct indicator of a
rule document), one ATR series per length; masks are produced and simulated one
combination at a time.
"""

from __future__ import annotations

import math

import numpy as np

from backtest_contract.position import apply_position_key
from backtest_contract.registry import StrategyRef

from .errors import ParamsError
from .indicators import IndicatorCache
from .loading import SymbolData, load_symbol
from .plan import RunPlan, run_plan
from .portfolio import sharpe_per_bar
from .progress import CancelFn, ProgressTracker
from .readers import CandleReader
from .results import buy_and_hold_pct, json_safe
from .results.symbol import signal_figures
from .runner import RunSpec
from .sim import SymbolBars, portfolio_block, simulate_symbol
from .sim.inputs import atr_lengths, compute_atr
from .strategies import Strategy, parse_params, resolve
from .symbols import normalize_timeframe, timeframe_seconds


def run_sweep_shard(spec: RunSpec, reader: CandleReader, symbol: str,
                    combinations: list[dict], should_cancel: CancelFn | None = None) -> dict:
    """One shard of a sweep: load ``symbol`` once, evaluate every combination (full
    parameter dicts; ``position.…`` keys vary the position) on it.
    ``{symbol, bars, failed_reason, entries}``; ``failed_reason`` is set (and ``entries``
    empty) when the symbol has no candles in the window.

    Raises ParamsError (a combination is invalid), DataError, BacktestCancelled.
    """
    ref, strategy = resolve(spec.strategy, spec.definition)
    plans = [combination_plan(ref, strategy, combo, spec.position) for combo in combinations]
    timeframe = normalize_timeframe(spec.timeframe)
    tracker = ProgressTracker(None, should_cancel)
    tracker.force(0.0, "loading_data")
    outcome = load_symbol(reader, symbol, timeframe, spec.start_date, spec.end_date)
    if isinstance(outcome, str):
        return {"symbol": symbol, "bars": 0, "failed_reason": outcome, "entries": []}
    entries = evaluate_combinations(outcome, strategy, plans, timeframe_seconds(timeframe),
                                    spec.fee_bps, spec.slippage_bps, tracker)
    return {"symbol": symbol, "bars": len(outcome.candles), "failed_reason": None,
            "entries": entries}


def combination_plan(ref: StrategyRef, strategy: Strategy, combo: dict,
                     position: dict | None) -> RunPlan:
    """The plan of one combination: its strategy params, and the run's position with the
    combination's ``position.KEY[.SUBKEY]`` values applied."""
    params = {k: v for k, v in combo.items() if not k.startswith("position.")}
    merged = dict(position or {})
    for key, value in combo.items():
        if key.startswith("position."):
            try:
                merged = apply_position_key(merged, key, value)
            except ValueError as exc:
                raise ParamsError.single(["grid", key], str(exc)) from None
    return run_plan(ref, parse_params(strategy, params), merged)


def evaluate_combinations(data: SymbolData, strategy: Strategy, plans: list[RunPlan],
                          timeframe_s: int, fee_bps: float, slippage_bps: float,
                          tracker: ProgressTracker | None = None) -> list[dict]:
    """The per-symbol sweep block of every plan, in order (see module doc)."""
    tracker = tracker or ProgressTracker()
    total = max(len(data.candles) * len(plans), 1)
    state = {"bars": 0}

    def _tick(bars: int) -> None:
        state["bars"] += bars
        tracker.update(0.8 * min(state["bars"] / total, 1.0), "running_strategy")

    c = data.candles
    cache = IndicatorCache(c)
    atr: dict[int, np.ndarray] = {}
    bh = buy_and_hold_pct(c.close)
    fee, slippage = fee_bps / 1e4, slippage_bps / 1e4
    masks = _masks_by_params(strategy, c, plans, _tick, cache)
    out = []
    for done, (plan, m) in enumerate(zip(plans, masks, strict=True)):
        tracker.update(0.8 * min(state["bars"] / total, 1.0), "running_strategy")
        for length in sorted(atr_lengths(plan.position) - set(atr)):
            atr[length] = compute_atr(c.high, c.low, c.close, length)
        bars = SymbolBars(data.symbol, c.ts_ns, c.open, c.high, c.low, c.close,
                          entry=m.entry, exit=m.exit, atr=atr)
        own = simulate_symbol(bars, plan.position, fee, slippage)
        index, _entry, _exit, _r, stats, _conf = signal_figures(c.close, m, plan, own,
                                                                 slippage_bps)
        portfolio = portfolio_block(own, timeframe_s, bh, fee_bps, slippage_bps, detail=False)
        out.append({
            "total_signals": int(index.shape[0]),
            "win_rate": stats["win_rate"],
            "avg_return": stats["avg_return"],
            "max_drawdown": stats["max_drawdown"],
            "portfolio": json_safe(portfolio),
            "stats": json_safe(return_moments(own.equity)),
        })
        del done
    return out


def _masks_by_params(strategy: Strategy, candles, plans: list[RunPlan], tick,
                     cache: IndicatorCache):
    """Masks of each plan, one at a time; consecutive plans with the same strategy params
    (a grid over position keys) share one evaluation."""
    distinct: list = []
    owner: list[int] = []
    for plan in plans:
        if not distinct or plan.values != distinct[-1].values:
            distinct.append(plan)
        owner.append(len(distinct) - 1)
    produced = strategy.masks_for(candles, [p.params for p in distinct], tick, cache)
    current, at = None, -1
    for index in owner:
        while at < index:
            current, at = next(produced), at + 1
        yield current


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
