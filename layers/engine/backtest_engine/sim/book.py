"""The cash book: entries and exits of all symbols in time order (docs/positions.md).

Events are visited, not bars: each symbol offers its next candidate entry, and each
open position its (already known) exit. A heap orders them by (timestamp, stage,
priority, request order) with the stages of one bar: 0 exits at the open, 1 entries at
the open, 2 intrabar exits, 3 exits at the close, 4 entries at the close — so every exit
of a stage precedes the entries that follow it, and free slots go to higher priorities.
"""

from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from backtest_engine.sim.exits import STAGE_OF_RANK, ExitPlanner
from backtest_engine.sim.inputs import Rules, SymbolBars
from backtest_engine.sim.plans import PlanCache

_OPEN_ENTRY, _CLOSE_ENTRY = 1, 4
_ENTRY, _EXIT = 0, 1


@dataclass
class Lane:
    """One symbol in the book: its bars ``lo … hi−1`` and their timeline positions."""

    bars: SymbolBars
    lo: int
    hi: int
    timeline_pos: np.ndarray  # int64, one per bar lo … hi−1
    rules: Rules
    slippage: float
    decisions: np.ndarray = field(init=False)
    decision_list: list = field(init=False)
    valid: list = field(init=False)
    priority_key: list = field(init=False)
    event_pos: np.ndarray = field(init=False)  # timeline position of each candidate's fill
    event_time: list = field(init=False)
    plans: PlanCache = field(init=False)

    def __post_init__(self) -> None:
        lo, hi, b = self.lo, self.hi, self.bars
        # No entry on the last bar of the range: it has no later bar to hold through.
        self.decisions = np.flatnonzero(b.entry[lo: hi - 1]).astype(np.int64) + lo
        self.decision_list = self.decisions.tolist()
        planner = ExitPlanner(b, self.rules, self.slippage, hi - 1)
        _, _, stop, take = planner.levels(self.decisions)
        self.valid = (~(np.isnan(stop) | np.isnan(take))).tolist()
        if b.priority is None:  # no priority ranks like NaN: after every number
            self.priority_key = [math.inf] * self.decisions.shape[0]
        else:  # higher priority first; NaN after every number
            p = b.priority[self.decisions]
            self.priority_key = np.where(np.isnan(p), np.inf, -p).tolist()
        fills = self.decisions + 1 if self.rules.next_open else self.decisions
        self.event_pos = self.timeline_pos[fills - lo]
        self.event_time = self.event_pos.tolist()
        self.plans = PlanCache(planner, self.decisions)

    def last_close(self, time: int, stage: int) -> float:
        """The close this symbol is marked at for an entry at (timeline ``time``, ``stage``):
        its last bar before ``time`` (open entries) or up to ``time`` (close entries)."""
        pos = np.searchsorted(self.timeline_pos, time,
                              side="right" if stage == _CLOSE_ENTRY else "left")
        return float(self.bars.close[self.lo + pos - 1])


@dataclass
class Ledger:
    """Trades in the order they were filled (``proceeds``: what the exit returns), the
    skipped entries and the cash after each cash event (timeline position, cash); each
    column a list or an array."""

    lane: list = field(default_factory=list)
    entry_bar: list = field(default_factory=list)
    exit_bar: list = field(default_factory=list)
    entry_price: list = field(default_factory=list)
    exit_ref: list = field(default_factory=list)
    reason: list = field(default_factory=list)
    quantity: list = field(default_factory=list)
    entry_notional: list = field(default_factory=list)
    proceeds: list = field(default_factory=list)
    skipped_entries: int = 0
    cash_time: list = field(default_factory=list)
    cash_after: list = field(default_factory=list)


def run_book(lanes: list[Lane], rules: Rules, fee: float, slippage: float, capital: float,
             fixed_quote: float) -> Ledger:
    """Simulate ``lanes`` on one cash pool of ``capital`` with ``rules.max_open`` slots.
    ``fee``/``slippage`` are fractions per side; ``fixed_quote`` is the fixed_quote notional
    in the pool's currency."""
    if len(lanes) == 1:
        return _run_lane(lanes[0], rules, fee, slippage, capital, fixed_quote)
    stage = _OPEN_ENTRY if rules.next_open else _CLOSE_ENTRY
    heap: list = []
    seq = 0

    def offer(li: int, k: int) -> None:
        nonlocal seq
        lane = lanes[li]
        if k < len(lane.event_time):
            heapq.heappush(heap, (lane.event_time[k], stage, lane.priority_key[k], li, seq,
                                  _ENTRY, k))
            seq += 1

    for li in range(len(lanes)):
        offer(li, 0)
    book, cash, holding = Ledger(), capital, {}  # holding: lane → trade index
    keep = (1 - slippage) * (1 - fee)
    while heap:
        time, at, _, li, _, kind, k = heapq.heappop(heap)
        if kind == _EXIT:
            cash += book.proceeds[k]
            del holding[li]
            book.cash_time.append(time)
            book.cash_after.append(cash)
            continue
        lane = lanes[li]
        notional = 0.0
        if len(holding) < rules.max_open and lane.valid[k]:
            notional = _notional(rules, cash, fixed_quote, lanes, holding, book, time, at)
        if notional <= 0 or math.isnan(notional):
            book.skipped_entries += 1
            offer(li, k + 1)
            continue
        fill_bar, price, exit_bar, rank, ref, reason = lane.plans.get(k)
        t, units = len(book.lane), notional * (1 - fee) / price
        for column, value in ((book.lane, li), (book.entry_bar, fill_bar),
                              (book.exit_bar, exit_bar), (book.entry_price, price),
                              (book.exit_ref, ref), (book.reason, reason),
                              (book.quantity, units), (book.entry_notional, notional),
                              (book.proceeds, units * ref * keep)):
            column.append(value)
        cash -= notional
        holding[li] = t
        book.cash_time.append(time)
        book.cash_after.append(cash)
        exit_time = int(lane.timeline_pos[exit_bar - lane.lo])
        heapq.heappush(heap, (exit_time, STAGE_OF_RANK[rank], 0.0, li, seq, _EXIT, t))
        seq += 1
        offer(li, bisect.bisect_right(lane.decision_list, exit_bar))
    return book


def _run_lane(lane: Lane, rules: Rules, fee: float, slippage: float, capital: float,
              fixed_quote: float) -> Ledger:
    """``run_book`` of one symbol: with one lane the events need no heap, they alternate
    (an entry, its exit, the next candidate after the exit bar), and the position is
    always flat when an entry is sized (equity = cash). Same arithmetic, same order: only
    the cash chain is a loop; the columns are gathered from the plans afterwards."""
    book, cash = Ledger(), capital
    keep = (1 - slippage) * (1 - fee)
    valid, plans, sizing, value = lane.valid, lane.plans, rules.sizing, rules.sizing_value
    price, ref, after = plans.price_list, plans.ref_list, plans.after
    taken, notionals, cash_before = [], [], []
    k, size, used = 0, len(valid), 0
    while k < size:
        notional = 0.0
        if valid[k]:  # ``_notional`` with equity = cash, inlined: this runs once per trade
            if sizing == "all_in":
                notional = cash
            elif sizing == "fixed_quote":
                notional = min(cash, fixed_quote)
            elif sizing == "fraction":
                notional = min(cash, value * cash)
            else:  # equal_slots
                notional = min(cash, cash / rules.max_open)
        if notional <= 0 or math.isnan(notional):
            book.skipped_entries += 1
            k += 1
            continue
        if k >= plans.resolved_to:
            plans.resolve(k, len(taken) - used)
            used = len(taken)
        taken.append(k)
        notionals.append(notional)
        cash_before.append(cash)
        cash = cash - notional + notional * (1 - fee) / price[k] * ref[k] * keep
        k = after[k]
    # The same operations as the loop, on the columns (elementwise IEEE: equal bits).
    at = np.asarray(taken, dtype=np.int64)
    notional = np.asarray(notionals, dtype=np.float64)
    book.lane = np.zeros(at.shape[0], dtype=np.int64)
    book.entry_bar, book.exit_bar = plans.fill_bar[at], plans.exit_bar[at]
    book.entry_price, book.exit_ref, book.reason = plans.price[at], plans.ref[at], plans.reason[at]
    book.quantity = notional * (1 - fee) / book.entry_price
    book.proceeds = book.quantity * book.exit_ref * keep
    book.entry_notional = notional
    # cash events in order: each trade's entry, then its exit
    times = np.empty(2 * at.shape[0], dtype=np.int64)
    times[0::2] = lane.event_pos[at]
    times[1::2] = lane.timeline_pos[book.exit_bar - lane.lo]
    after_entry = np.asarray(cash_before, dtype=np.float64) - notional
    cash_after = np.empty(2 * at.shape[0])
    cash_after[0::2], cash_after[1::2] = after_entry, after_entry + book.proceeds
    book.cash_time, book.cash_after = times, cash_after
    return book


def _notional(rules: Rules, cash: float, fixed_quote: float, lanes: list[Lane],
              holding: dict, book: Ledger, time: int, stage: int) -> float:
    """What an entry spends (docs/positions.md, "Sizing")."""
    if rules.sizing == "all_in":
        return cash
    if rules.sizing == "fixed_quote":
        return min(cash, fixed_quote)
    equity = cash
    for li, t in holding.items():
        equity += book.quantity[t] * lanes[li].last_close(time, stage)
    if rules.sizing == "fraction":
        return min(cash, rules.sizing_value * equity)
    return min(cash, equity / rules.max_open)
