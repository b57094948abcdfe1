"""``SimResult``: the trades as columns and the equity at every close of the timeline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backtest_engine.sim.book import Lane, Ledger


@dataclass(frozen=True)
class SimResult:
    """What a simulation produced (docs/positions.md, "Results").

    Trades are in fill order, one row per index of the ``trade_*``/… arrays:
    ``trade_symbol`` indexes ``symbols``; ``entry_bar``/``exit_bar`` index the symbol's own
    bars (entry = the fill bar); ``entry_ns``/``exit_ns`` are those bars' times;
    ``entry_price``/``exit_price`` are fills (slippage included); ``reason`` indexes
    ``inputs.REASONS``; ``quantity`` units; ``entry_notional`` what the entry spent;
    ``fees`` both sides' fees; ``pnl`` net (exit proceeds − entry notional) and
    ``return_pct`` = pnl / entry_notional · 100. ``equity`` is cash plus positions marked at
    their last close, after every close of ``timeline_ns``; ``exposed_bars`` counts the
    timeline bars after whose close a position was open.
    """

    symbols: tuple[str, ...]
    initial_capital: float
    timeline_ns: np.ndarray
    equity: np.ndarray
    exposed_bars: int
    skipped_entries: int
    trade_symbol: np.ndarray
    entry_bar: np.ndarray
    exit_bar: np.ndarray
    entry_ns: np.ndarray
    exit_ns: np.ndarray
    entry_price: np.ndarray
    exit_price: np.ndarray
    reason: np.ndarray
    quantity: np.ndarray
    entry_notional: np.ndarray
    fees: np.ndarray
    pnl: np.ndarray
    return_pct: np.ndarray

    @property
    def final_equity(self) -> float:
        """Equity after the last close (every position has exited by then)."""
        return float(self.equity[-1])

    @property
    def trades(self) -> int:
        return int(self.trade_symbol.shape[0])


def assemble(lanes: list[Lane], book: Ledger, timeline_ns: np.ndarray, capital: float,
             fee: float, slippage: float) -> SimResult:
    """The ``SimResult`` of a finished book over ``timeline_ns``."""
    n = timeline_ns.shape[0]
    cols = {name: np.asarray(getattr(book, name), dtype=dtype) for name, dtype in (
        ("lane", np.int64), ("entry_bar", np.int64), ("exit_bar", np.int64),
        ("entry_price", np.float64), ("exit_ref", np.float64), ("reason", np.int8),
        ("quantity", np.float64), ("entry_notional", np.float64), ("proceeds", np.float64))}
    cash_after = np.asarray(book.cash_after, dtype=np.float64)
    equity = _cash_at(np.asarray(book.cash_time, dtype=np.int64), cash_after, n, capital)
    exposed = np.zeros(n, dtype=bool)
    for li, lane in enumerate(lanes):
        mine = np.flatnonzero(cols["lane"] == li)
        value, held = _marked(lane, cols["entry_bar"][mine], cols["exit_bar"][mine],
                              cols["quantity"][mine])
        if lane.timeline_pos.shape[0] == n:  # the symbol has a bar at every timestamp
            equity = equity + value
            exposed |= held
        else:  # carry the last bar's value (marked at its close) over the symbol's gaps
            seen = np.zeros(n, dtype=np.int64)
            seen[lane.timeline_pos] = 1
            at = np.cumsum(seen) - 1
            equity = equity + np.where(at >= 0, value[np.maximum(at, 0)], 0.0)
            exposed |= (at >= 0) & held[np.maximum(at, 0)]
    exit_price = cols["exit_ref"] * (1 - slippage)
    proceeds = cols["proceeds"]
    pnl = proceeds - cols["entry_notional"]
    # bar times of every lane end to end: lane li's bar b is at offset[li] + b
    offset = np.cumsum([0] + [len(lane.bars) for lane in lanes[:-1]])
    lane_ts = np.concatenate([lane.bars.ts_ns for lane in lanes])
    entry_ns = lane_ts[offset[cols["lane"]] + cols["entry_bar"]]
    exit_ns = lane_ts[offset[cols["lane"]] + cols["exit_bar"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        return_pct = pnl / cols["entry_notional"] * 100.0
    return SimResult(
        symbols=tuple(lane.bars.symbol for lane in lanes), initial_capital=capital,
        timeline_ns=timeline_ns, equity=equity, exposed_bars=int(exposed.sum()),
        skipped_entries=book.skipped_entries, trade_symbol=cols["lane"],
        entry_bar=cols["entry_bar"], exit_bar=cols["exit_bar"], entry_ns=entry_ns,
        exit_ns=exit_ns, entry_price=cols["entry_price"], exit_price=exit_price,
        reason=cols["reason"], quantity=cols["quantity"],
        entry_notional=cols["entry_notional"],
        fees=cols["entry_notional"] * fee + cols["quantity"] * exit_price * fee,
        pnl=pnl, return_pct=return_pct)


def _cash_at(cash_time: np.ndarray, cash_after: np.ndarray, n: int,
             capital: float) -> np.ndarray:
    """Cash after every timeline position: the last cash event at or before it (events are
    in time order), ``capital`` before the first. O(n), no search per bar."""
    if not cash_after.shape[0]:
        return np.full(n, float(capital))
    ends = np.flatnonzero(np.r_[cash_time[1:] != cash_time[:-1], True])  # last of each time
    last = np.full(n, -1, dtype=np.int64)
    last[cash_time[ends]] = ends
    last = np.maximum.accumulate(last)
    return np.where(last >= 0, cash_after[np.maximum(last, 0)], capital)


def _marked(lane: Lane, entry_bar: np.ndarray, exit_bar: np.ndarray,
            quantity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(units × close, held) after each close of bars lo … hi−1; a position is held after
    the closes of bars entry … exit−1 (one position at a time, so trades are in bar order)."""
    size = lane.hi - lane.lo
    if not entry_bar.shape[0]:
        return np.zeros(size), np.zeros(size, dtype=bool)
    starts = np.zeros(size, dtype=np.int64)
    starts[entry_bar - lane.lo] = 1  # entry bars of one lane are distinct and increasing
    k = np.cumsum(starts) - 1  # the last trade entered at or before each bar
    safe = np.maximum(k, 0)
    held = (k >= 0) & (np.arange(lane.lo, lane.hi) < exit_bar[safe])
    units = np.where(held, quantity[safe], 0.0)
    return units * lane.bars.close[lane.lo: lane.hi], held
