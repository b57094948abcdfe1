"""The two portfolios of docs/positions.md: one symbol on capital 1.0, or all symbols on
one cash pool."""

from __future__ import annotations

import dataclasses

import numpy as np

from backtest_contract.position import PositionSpec
from backtest_engine.sim.book import Lane, run_book
from backtest_engine.sim.inputs import SymbolBars, atr_lengths, rules_of
from backtest_engine.sim.result import SimResult, assemble


def simulate_symbol(bars: SymbolBars, config: PositionSpec, fee: float, slippage: float, *,
                    bar_range: tuple[int, int] | None = None) -> SimResult:
    """The per-symbol portfolio: capital 1.0, one position, ``config``'s exits and sizing
    (``fixed_quote`` q spends q / initial_capital; ``equal_slots`` = all in).

    ``fee``/``slippage`` are fractions per side (5 bps = 0.0005). ``bar_range=(lo, hi)``
    trades bars lo … hi−1 only: flat with 1.0 at lo, ``end_of_data`` at hi−1 (masks and
    ATR still come from the whole series). Example: ``simulate_symbol(bars,
    PositionSpec(time_exit_bars=1), 0.0005, 0.0).final_equity``.
    """
    lo, hi = bar_range if bar_range is not None else (0, len(bars))
    if not 0 <= lo < hi <= len(bars):
        raise ValueError(f"bar_range {bar_range} is not within 0 … {len(bars)}")
    _check(bars, config)
    mode = "all_in" if config.sizing.mode == "equal_slots" else config.sizing.mode
    rules = dataclasses.replace(rules_of(config), max_open=1, sizing=mode)
    lane = Lane(bars, lo, hi, np.arange(hi - lo, dtype=np.int64), rules, slippage)
    fixed = (config.sizing.value or 0.0) / config.initial_capital
    book = run_book([lane], rules, fee, slippage, 1.0, fixed)
    return assemble([lane], book, bars.ts_ns[lo:hi], 1.0, fee, slippage)


def simulate_portfolio(symbols: list[SymbolBars], config: PositionSpec, fee: float,
                       slippage: float) -> SimResult:
    """The shared portfolio: every symbol on one pool of ``config.initial_capital`` on the
    sorted union of their timestamps, at most ``config.max_open_positions`` positions,
    free slots taken by the bars' ``priority`` (higher first; ties and NaN in the order
    of ``symbols``)."""
    if not symbols:
        raise ValueError("simulate_portfolio needs at least one symbol")
    for bars in symbols:
        _check(bars, config)
    timeline = _union([b.ts_ns for b in symbols])
    rules = rules_of(config)
    lanes = [Lane(b, 0, len(b), np.searchsorted(timeline, b.ts_ns).astype(np.int64), rules,
                  slippage) for b in symbols]
    fixed = config.sizing.value or 0.0
    book = run_book(lanes, rules, fee, slippage, config.initial_capital, fixed)
    return assemble(lanes, book, timeline, config.initial_capital, fee, slippage)


def _union(series: list[np.ndarray]) -> np.ndarray:
    """The sorted union of strictly increasing timestamp series (one series: itself)."""
    if len(series) == 1:
        return series[0]
    merged = np.sort(np.concatenate(series), kind="stable")  # runs of sorted blocks
    return merged[np.r_[True, merged[1:] != merged[:-1]]]


def _check(bars: SymbolBars, config: PositionSpec) -> None:
    if len(bars) == 0:
        raise ValueError(f"{bars.symbol}: no bars to simulate")
    missing = atr_lengths(config) - set(bars.atr)
    if missing:
        raise ValueError(f"{bars.symbol}: ATR series missing for lengths {sorted(missing)} "
                         "(build them with compute_atrs)")
