"""A per-row reference of the position rules of docs/positions.md: one Python loop over
the timeline, every step of "One bar" written out literally. Slow on purpose; the tests
and bench/bench_sim.py compare the array simulator (``backtest_engine.sim``) with it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from backtest_contract.position import PositionSpec
from backtest_engine.sim import SymbolBars


@dataclass
class RefTrade:
    symbol: int
    entry_bar: int
    entry_price: float
    quantity: float
    entry_notional: float
    stop: float
    take: float
    peak: float
    exit_bar: int = -1
    exit_price: float = math.nan
    exit_reason: str = ""
    proceeds: float = math.nan


@dataclass
class RefResult:
    trades: list[RefTrade]
    equity: np.ndarray
    exposed_bars: int
    skipped_entries: int
    timeline_ns: np.ndarray = field(repr=False)


def reference_symbol(bars: SymbolBars, config: PositionSpec, fee: float,
                     slippage: float) -> RefResult:
    """The per-symbol portfolio: capital 1.0, one slot, ``fixed_quote`` q → q/initial_capital,
    ``equal_slots`` = all in."""
    mode = "all_in" if config.sizing.mode == "equal_slots" else config.sizing.mode
    value = config.sizing.value
    if mode == "fixed_quote":
        value = value / config.initial_capital
    return reference([bars], config, fee, slippage, capital=1.0, max_open=1, mode=mode,
                     value=value)


def reference_portfolio(symbols: list[SymbolBars], config: PositionSpec, fee: float,
                        slippage: float) -> RefResult:
    return reference(symbols, config, fee, slippage, capital=config.initial_capital,
                     max_open=config.max_open_positions, mode=config.sizing.mode,
                     value=config.sizing.value)


def reference(symbols: list[SymbolBars], config: PositionSpec, fee: float, slippage: float,
              *, capital: float, max_open: int, mode: str, value: float | None) -> RefResult:
    timeline = np.unique(np.concatenate([b.ts_ns for b in symbols]))
    at = [{int(t): i for i, t in enumerate(b.ts_ns.tolist())} for b in symbols]
    last_bar = [len(b) - 1 for b in symbols]
    last_close = [math.nan] * len(symbols)
    next_open = config.execution == "next_open"
    sl, tp, tr, hold = (config.stop_loss, config.take_profit, config.trailing_stop,
                        config.time_exit_bars)
    cash = capital
    open_pos: dict[int, RefTrade] = {}
    pending_entry: dict[int, int] = {}  # symbol → deciding bar
    pending_exit: set[int] = set()
    trades: list[RefTrade] = []
    skipped = 0
    equity = np.empty(timeline.shape[0])
    exposed = 0

    def effective(p: RefTrade) -> tuple[float, bool]:
        """(effective stop, whether the trail is the higher)."""
        trail = -math.inf
        if tr is not None and p.peak >= p.entry_price * (1 + tr.activation_pct / 100):
            trail = p.peak * (1 - tr.pct / 100)
        return (trail, True) if trail > p.stop else (p.stop, False)

    def close_out(k: int, bar: int, ref: float, reason: str) -> None:
        nonlocal cash
        p = open_pos.pop(k)
        p.exit_bar, p.exit_price, p.exit_reason = bar, ref * (1 - slippage), reason
        p.proceeds = p.quantity * ref * (1 - slippage) * (1 - fee)
        cash += p.proceeds

    def marked_equity(marks: list[float]) -> float:
        return cash + sum(p.quantity * marks[k] for k, p in open_pos.items())

    def enter(wanting: list[tuple[int, int, int]], marks: list[float], fill: str) -> None:
        """Fill ``(symbol, deciding bar, fill bar)`` by priority, higher first."""
        nonlocal cash, skipped

        def order(item):
            k, d, _ = item
            pr = symbols[k].priority
            p = math.nan if pr is None else float(pr[d])
            return (math.inf if math.isnan(p) else -p, k)

        for k, d, f in sorted(wanting, key=order):
            b = symbols[k]
            ref = b.open[f] if fill == "open" else b.close[d]
            price = ref * (1 + slippage)
            stop = -math.inf
            if sl is not None:
                stop = price * (1 - sl.pct / 100) if sl.pct is not None else (
                    price - sl.atr * b.atr[sl.length][d])
            take = math.inf
            if tp is not None:
                if tp.pct is not None:
                    take = price * (1 + tp.pct / 100)
                elif tp.atr is not None:
                    take = price + tp.atr * b.atr[tp.length][d]
                else:
                    take = price + tp.rr * (price - stop)
            equity_now = marked_equity(marks)
            notional = {"all_in": cash, "fixed_quote": min(cash, value or 0.0),
                        "fraction": min(cash, (value or 0.0) * equity_now),
                        "equal_slots": min(cash, equity_now / max_open)}[mode]
            if (len(open_pos) >= max_open or math.isnan(stop) or math.isnan(take)
                    or not notional > 0):
                skipped += 1
                continue
            units = notional * (1 - fee) / price
            cash -= notional
            trade = RefTrade(k, f, price, units, notional, stop, take, peak=price)
            open_pos[k] = trade
            trades.append(trade)

    for ti, t in enumerate(timeline.tolist()):
        here = [(k, at[k][t]) for k in range(len(symbols)) if t in at[k]]
        exited: set[int] = set()
        # 1. the open
        for k, i in here:
            p = open_pos.get(k)
            if p is None:
                continue
            b = symbols[k]
            eff, trailing = effective(p)
            if k in pending_exit:
                close_out(k, i, b.open[i], "signal")
            elif next_open and hold and i == p.entry_bar + hold:
                close_out(k, i, b.open[i], "time")
            elif b.open[i] <= eff:
                close_out(k, i, b.open[i], "trailing_stop" if trailing else "stop_loss")
            elif b.open[i] >= p.take:
                close_out(k, i, b.open[i], "take_profit")
            else:
                continue
            pending_exit.discard(k)
            exited.add(k)
        wanting = [(k, pending_entry.pop(k), i) for k, i in here if k in pending_entry]
        enter(wanting, list(last_close), "open")
        # 2. intrabar
        for k, i in here:
            p = open_pos.get(k)
            if p is None:
                continue
            b = symbols[k]
            eff, trailing = effective(p)
            if b.low[i] <= eff:
                close_out(k, i, eff, "trailing_stop" if trailing else "stop_loss")
            elif b.high[i] >= p.take:
                close_out(k, i, p.take, "take_profit")
            else:
                continue
            exited.add(k)
        # 3. the close
        for k, i in here:
            last_close[k] = float(symbols[k].close[i])
        for k, i in here:
            p = open_pos.get(k)
            if p is None:
                continue
            b = symbols[k]
            signal = b.exit is not None and bool(b.exit[i])
            if not next_open and hold and i == p.entry_bar + hold:
                close_out(k, i, b.close[i], "time")
            elif signal and not next_open:
                close_out(k, i, b.close[i], "signal")
            elif i == last_bar[k]:
                close_out(k, i, b.close[i], "end_of_data")
            else:
                if signal:
                    pending_exit.add(k)
                continue
            exited.add(k)
        for k, i in here:
            p = open_pos.get(k)
            if p is not None:  # held through this bar (entries at this close come later)
                p.peak = max(p.peak, float(symbols[k].high[i]))
        wanting = [(k, i, i) for k, i in here if k not in open_pos and k not in exited
                   and bool(symbols[k].entry[i]) and i < last_bar[k]]
        if next_open:
            pending_entry.update({k: d for k, d, _ in wanting})
        else:
            enter(wanting, last_close, "close")
        equity[ti] = marked_equity(last_close)
        exposed += bool(open_pos)
    return RefResult(trades, equity, exposed, skipped, timeline)
