"""Many parameter combinations on one symbol's candles: loaded and validated once.

``evaluate_combinations`` returns, per combination, the per-symbol block of a sweep
leaderboard entry (docs/sweeps.md): ``{total_signals, win_rate, avg_return, max_drawdown,
portfolio}`` — each value computed by the same functions as a single backtest, so equal
to it — plus ``stats`` for the deflated Sharpe ratio: the per-bar Sharpe of the portfolio
equity returns and their skewness and (non-excess) kurtosis; ``pbo_sum``/``pbo_sumsq``, the
block sums of those returns for the probability of backtest overfitting; and, for a
walk-forward sweep, ``wf_scores`` (docs/sweeps.md, "Walk-forward").

Shared work: ``Strategy.masks_for`` (e.g. one volume profile per (include_wicks, W, K)
for every p, b and H of the grid; one indicator computation per distinct indicator of a
rule document), one ATR series per length; masks are produced and simulated one
combination at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from backtest_contract.position import apply_position_key
from backtest_contract.registry import StrategyRef

from .errors import DataError, ParamsError
from .indicators import IndicatorCache
from .loading import SymbolData, load_symbol
from .metrics import returns_pct, signal_statistics, trade_prices
from .plan import RunPlan, run_plan
from .portfolio import sharpe_per_bar
from .progress import CancelFn, ProgressTracker
from .readers import CandleReader
from .results import buy_and_hold_pct, json_safe
from .results.encode import iso_many
from .results.symbol import signal_figures
from .runner import RunSpec
from .sim import SymbolBars, portfolio_block, simulate_symbol
from .sim.inputs import atr_lengths, compute_atr
from .stats import block_fields
from .strategies import Strategy, parse_params, resolve
from .symbols import normalize_timeframe, timeframe_seconds


def run_sweep_shard(spec: RunSpec, reader: CandleReader, symbol: str,
                    combinations: list[dict], should_cancel: CancelFn | None = None, *,
                    pbo_blocks: int = 16, walk_forward: WalkForward | None = None) -> dict:
    """One shard of a sweep: load ``symbol`` once, evaluate every combination (full
    parameter dicts; ``position.…`` keys vary the position) on it.
    ``{symbol, bars, pbo_rows, failed_reason, entries}`` (+ ``wf_ranges`` with
    ``walk_forward``); ``failed_reason`` is set (and ``entries`` empty) when the symbol has
    no candles in the window.

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
    ranges = None
    out: dict = {}
    if walk_forward is not None:
        union = union_timeline(reader, spec, timeframe, symbol, outcome.candles.ts_ns)
        cuts = wf_ranges(union, walk_forward)
        ranges = [bar_range_of(outcome.candles.ts_ns, union, lo, hi) for lo, hi in cuts]
        firsts = iso_many(np.array([union[lo] for lo, _ in cuts], dtype=np.int64))
        lasts = iso_many(np.array([union[hi - 1] for _, hi in cuts], dtype=np.int64))
        out["wf_ranges"] = [{"first": f, "last": la} for f, la in zip(firsts, lasts, strict=True)]
    entries = evaluate_combinations(outcome, strategy, plans, timeframe_seconds(timeframe),
                                    spec.fee_bps, spec.slippage_bps, tracker,
                                    pbo_blocks=pbo_blocks, ranges=ranges,
                                    rank_by=walk_forward.rank_by if walk_forward else None)
    n = len(outcome.candles)
    return {"symbol": symbol, "bars": n, "pbo_rows": max(n - 1, 0), "failed_reason": None,
            "entries": entries, **out}


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
                          tracker: ProgressTracker | None = None, *, pbo_blocks: int = 16,
                          ranges: list[tuple[int, int] | None] | None = None,
                          rank_by: str | None = None) -> list[dict]:
    """The per-symbol sweep block of every plan, in order (see module doc). ``ranges``:
    bar ranges (None = no bar of this symbol) each plan is also simulated on, from the same
    masks; entry ``wf_scores`` = ``rank_by`` of each range's block."""
    tracker = tracker or ProgressTracker()
    total = max(len(data.candles) * len(plans), 1)
    state = {"bars": 0}

    def _tick(bars: int) -> None:
        state["bars"] += bars
        tracker.update(0.8 * min(state["bars"] / total, 1.0), "running_strategy")

    c = data.candles
    cache = IndicatorCache(c, data.identity)  # warm: shared with earlier shards
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
        entry = {
            "total_signals": int(index.shape[0]),
            "win_rate": stats["win_rate"],
            "avg_return": stats["avg_return"],
            "max_drawdown": stats["max_drawdown"],
            "portfolio": json_safe(portfolio),
            "stats": json_safe(return_moments(own.equity)),
            **block_fields(bar_returns(own.equity), pbo_blocks),
        }
        if ranges is not None and rank_by is not None:
            entry["wf_scores"] = [
                None if r is None else range_score(bars, m, plan, r, rank_by, timeframe_s,
                                                   fee_bps, slippage_bps)
                for r in ranges]
        out.append(entry)
        del done
    return out


def bar_returns(equity: np.ndarray) -> np.ndarray:
    """The per-bar returns r_t = e_t / e_{t−1} − 1 of an equity series (docs/sweeps.md)."""
    return equity[1:] / equity[:-1] - 1.0 if equity.shape[0] > 1 else np.empty(0)


def range_block(bars: SymbolBars, masks, plan: RunPlan, bar_range: tuple[int, int],
                timeframe_s: int, fee_bps: float, slippage_bps: float) -> dict:
    """The per-symbol sweep block of ``plan`` on bars ``bar_range`` only: the portfolio
    simulated flat with 1.0 from the range's first bar to ``end_of_data`` at its last;
    built-in signals = entry-mask bars inside the range, held at most to its last bar."""
    lo, hi = bar_range
    own = simulate_symbol(bars, plan.position, fee_bps / 1e4, slippage_bps / 1e4,
                          bar_range=bar_range)
    close = bars.close[:hi]
    if plan.ref.kind == "builtin":
        index = masks.entry_index
        index = index[(index >= lo) & (index < hi)]
        entry, exit_ = trade_prices(close, index, plan.hold_bars)
        stats = signal_statistics(returns_pct(entry, exit_), plan.hold_bars)
    else:
        index, _e, _x, _r, stats, _c = signal_figures(close, masks, plan, own, slippage_bps)
    portfolio = portfolio_block(own, timeframe_s, buy_and_hold_pct(bars.close[lo:hi]),
                                fee_bps, slippage_bps, detail=False)
    return {"total_signals": int(index.shape[0]), "win_rate": stats["win_rate"],
            "avg_return": stats["avg_return"], "max_drawdown": stats["max_drawdown"],
            "portfolio": json_safe(portfolio)}


def range_score(bars: SymbolBars, masks, plan: RunPlan, bar_range: tuple[int, int],
                rank_by: str, timeframe_s: int, fee_bps: float,
                slippage_bps: float) -> float | None:
    """``rank_by`` (a dotted path) of ``range_block``; None for a null metric."""
    value = range_block(bars, masks, plan, bar_range, timeframe_s, fee_bps, slippage_bps)
    for part in rank_by.split("."):
        value = value[part]
    return None if value is None else float(value)


@dataclass(frozen=True)
class WalkForward:
    """What a shard needs of ``validation.walk_forward``: the folds, anchored or rolling,
    and the sweep's ``rank_by``."""

    folds: int
    anchored: bool
    rank_by: str


def wf_ranges(union: np.ndarray, wf: WalkForward) -> list[tuple[int, int]]:
    """The distinct union-index ranges the folds use, in order: every fold's training range
    then every fold's test range (docs/sweeps.md); [lo, hi)."""
    t, k = union.shape[0], wf.folds
    edges = [j * t // (k + 1) for j in range(k + 2)]
    train = [(0 if wf.anchored else edges[j - 1], edges[j]) for j in range(1, k + 1)]
    test = [(edges[j], edges[j + 1]) for j in range(1, k + 1)]
    return train + test


def union_timeline(reader: CandleReader, spec: RunSpec, timeframe: str, symbol: str,
                   own_ns: np.ndarray) -> np.ndarray:
    """The sorted union of every sweep symbol's bar timestamps in the window (each shard
    reads the other symbols' candles for their timestamps: docs/sweeps.md). A symbol
    without candles or with invalid ones is left out: its own shard reports it, and every
    shard leaves it out alike."""
    stamps = [own_ns]
    for other in spec.symbols:
        if other != symbol:
            try:
                data = load_symbol(reader, other, timeframe, spec.start_date, spec.end_date)
            except DataError:
                continue
            if not isinstance(data, str):
                stamps.append(data.candles.ts_ns)
    return np.unique(np.concatenate(stamps))


def bar_range_of(own_ns: np.ndarray, union: np.ndarray, lo: int,
                 hi: int) -> tuple[int, int] | None:
    """This symbol's bars within union indices [lo, hi); None when fewer than 2."""
    a = int(np.searchsorted(own_ns, union[lo], side="left"))
    b = int(np.searchsorted(own_ns, union[hi - 1], side="right"))
    return (a, b) if b - a >= 2 else None



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
    r = bar_returns(equity)
    sharpe = sharpe_per_bar(r)
    if r.shape[0] < 2:
        return {"sharpe_per_bar": sharpe, "skewness": 0.0, "kurtosis": 3.0}
    d = r - float(np.mean(r))
    d2 = d * d  # products, not ``**``: a float power per element is ~10× slower
    m2 = float(np.mean(d2))
    if m2 <= 0 or not math.isfinite(m2):
        return {"sharpe_per_bar": sharpe, "skewness": 0.0, "kurtosis": 3.0}
    return {"sharpe_per_bar": sharpe,
            "skewness": float(np.mean(d2 * d)) / m2 ** 1.5,
            "kurtosis": float(np.mean(d2 * d2)) / m2 ** 2}
