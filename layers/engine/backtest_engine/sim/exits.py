"""Where a position ends, found for many entries at once (docs/positions.md, "Exits").

A position's levels and exit depend only on its entry bar (prices, masks, ATR), never on
cash or on other symbols, so the exits of a batch of candidate entries are found with
array operations over windows of bars: first the exits that need no price level (time,
exit signal, end of data), then a scan of growing windows for the first bar where a
level (stop, take profit, trail) is touched. Within one bar the order of the rules is a
rank (lower wins), so "first exit" is the smallest ``bar·16 + rank``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backtest_engine.sim.inputs import (
    END_OF_DATA,
    SIGNAL,
    STOP_LOSS,
    TAKE_PROFIT,
    TIME,
    TRAILING_STOP,
    Rules,
    SymbolBars,
)

# Ranks of the exit rules inside one bar (docs/positions.md, "One bar").
OPEN_SIGNAL, OPEN_TIME, GAP_STOP, GAP_TAKE, BAR_STOP, BAR_TAKE = 0, 1, 2, 3, 4, 5
CLOSE_TIME, CLOSE_SIGNAL, CLOSE_END = 6, 7, 8
STAGE_OF_RANK = (0, 0, 0, 0, 2, 2, 3, 3, 3)
"""Event stage of an exit rank: 0 at the open, 2 intrabar, 3 at the close."""
_SLOTS = 16
_CELLS = 1 << 19  # rows × bars of one scan window: bounds the temporaries to a few MB


@dataclass(frozen=True)
class ExitPlan:
    """Per candidate entry (decision bar ``d``): the fill and where the position ends.

    ``valid`` False means an ATR level is NaN (the entry is skipped). Bars index the
    symbol's own series; ``exit_ref`` is the reference price before slippage;
    ``exit_rank`` orders exits inside a bar; ``reason`` indexes ``inputs.REASONS``.
    """

    valid: np.ndarray
    fill_bar: np.ndarray
    fill_price: np.ndarray
    exit_bar: np.ndarray
    exit_rank: np.ndarray
    exit_ref: np.ndarray
    reason: np.ndarray


class ExitPlanner:
    """Finds exits for entries decided on bars ``< last`` of one symbol (``last`` = the
    final bar of the traded range)."""

    def __init__(self, bars: SymbolBars, rules: Rules, slippage: float, last: int) -> None:
        self.bars, self.rules, self.slippage, self.last = bars, rules, slippage, last
        exits = bars.exit
        self._exit_bars = (np.flatnonzero(exits[: last + 1]) if exits is not None
                           else np.empty(0, dtype=np.int64))

    def levels(self, decisions: np.ndarray) -> tuple[np.ndarray, ...]:
        """(fill bar, fill price P, stop, take profit) of entries decided at ``decisions``;
        an absent level is ∓inf, a level from a NaN ATR is NaN."""
        b, r = self.bars, self.rules
        fill_bar = decisions + 1 if r.next_open else decisions
        ref = b.open[fill_bar] if r.next_open else b.close[decisions]
        price = ref * (1 + self.slippage)
        stop = np.full(decisions.shape[0], -np.inf)
        if not np.isnan(r.stop_pct):
            stop = price * (1 - r.stop_pct / 100)
        elif not np.isnan(r.stop_atr):
            stop = price - r.stop_atr * b.atr[r.stop_len][decisions]
        take = np.full(decisions.shape[0], np.inf)
        if not np.isnan(r.tp_pct):
            take = price * (1 + r.tp_pct / 100)
        elif not np.isnan(r.tp_atr):
            take = price + r.tp_atr * b.atr[r.tp_len][decisions]
        elif not np.isnan(r.tp_rr):
            take = price + r.tp_rr * (price - stop)
        return fill_bar, price, stop, take

    def plan(self, decisions: np.ndarray) -> ExitPlan:
        """The ``ExitPlan`` of entries decided at ``decisions`` (int64 bars < ``last``)."""
        decisions = np.asarray(decisions, dtype=np.int64)
        fill_bar, price, stop, take = self.levels(decisions)
        valid = ~(np.isnan(stop) | np.isnan(take))
        key = self._bound_key(decisions, fill_bar)
        eff, trail = stop.copy(), np.full(decisions.shape[0], -np.inf)
        if self.rules.has_levels:
            rows = np.flatnonzero(valid)
            hit_key, hit_eff, hit_trail = self._scan(decisions[rows], fill_bar[rows],
                                                     price[rows], stop[rows], take[rows],
                                                     key[rows] // _SLOTS)
            better = hit_key < key[rows]
            won = rows[better]
            key[won], eff[won], trail[won] = hit_key[better], hit_eff[better], hit_trail[better]
        exit_bar, rank = key // _SLOTS, key % _SLOTS
        b = self.bars
        ref = np.where(rank <= GAP_TAKE, b.open[exit_bar], b.close[exit_bar])
        ref = np.where(rank == BAR_STOP, eff, np.where(rank == BAR_TAKE, take, ref))
        stop_reason = np.where(trail > stop, TRAILING_STOP, STOP_LOSS)
        reason = np.select(
            [rank == OPEN_SIGNAL, rank == OPEN_TIME, (rank == GAP_STOP) | (rank == BAR_STOP),
             (rank == GAP_TAKE) | (rank == BAR_TAKE), rank == CLOSE_TIME,
             rank == CLOSE_SIGNAL], [SIGNAL, TIME, stop_reason, TAKE_PROFIT, TIME, SIGNAL],
            END_OF_DATA)
        return ExitPlan(valid, fill_bar, price, exit_bar, rank.astype(np.int8), ref,
                        reason.astype(np.int8))

    def _bound_key(self, decisions: np.ndarray, fill_bar: np.ndarray) -> np.ndarray:
        """The first exit that needs no level: time, exit signal or end of data."""
        r, last = self.rules, self.last
        key = np.full(decisions.shape[0], last * _SLOTS + CLOSE_END, dtype=np.int64)
        if r.time_bars:
            due = fill_bar + r.time_bars if r.next_open else decisions + r.time_bars
            rank = OPEN_TIME if r.next_open else CLOSE_TIME
            key = np.where(due <= last, np.minimum(key, due * _SLOTS + rank), key)
        xs = self._exit_bars
        if xs.shape[0]:
            # The first exit signal on a bar the position is held at the close of:
            # after the entry close (close) or from the fill bar on (next_open).
            j = np.searchsorted(xs, decisions + 1)
            seen = j < xs.shape[0]
            x = xs[np.minimum(j, xs.shape[0] - 1)]
            if r.next_open:  # pending: exits at the next open, or end of data on the last bar
                signal = np.where(x < last, (x + 1) * _SLOTS + OPEN_SIGNAL,
                                  last * _SLOTS + CLOSE_END)
            else:
                signal = x * _SLOTS + CLOSE_SIGNAL
            key = np.where(seen, np.minimum(key, signal), key)
        return key

    def _scan(self, decisions, fill_bar, price, stop, take, bound):
        """First level touch per row within bars d+1 … bound: (key, effective stop, trail)
        at that bar; key = int64 max where no level is touched."""
        m = decisions.shape[0]
        out_key = np.full(m, np.iinfo(np.int64).max, dtype=np.int64)
        out_eff, out_trail = stop.copy(), np.full(m, -np.inf)
        start, peak = decisions + 1, price.copy()
        arm = price * (1 + self.rules.trail_activation_pct / 100)
        rows, width = np.arange(m), 16
        while rows.shape[0]:
            step = max(1, _CELLS // width)
            pending = []
            for lo in range(0, rows.shape[0], step):
                part = rows[lo: lo + step]
                found, key, eff, trail, top = self._window(
                    part, start, width, fill_bar, peak, arm, stop, take, bound)
                out_key[part[found]] = key
                out_eff[part[found]], out_trail[part[found]] = eff, trail
                more = ~found & (start[part] + width <= bound[part])
                peak[part[more]] = top[more]
                start[part[more]] += width
                pending.append(part[more])
            rows = np.concatenate(pending) if pending else rows[:0]
            width *= 4
        return out_key, out_eff, out_trail

    def _window(self, part, start, width, fill_bar, peak, arm, stop, take, bound):
        """Evaluate bars start … start+width−1 (capped at bound) of rows ``part``."""
        b, r = self.bars, self.rules
        bars = start[part][:, None] + np.arange(width)[None, :]
        inside = bars <= bound[part][:, None]
        safe = np.minimum(bars, self.last)
        high, low, opened = b.high[safe], b.low[safe], b.open[safe]
        level_stop, level_take = stop[part][:, None], take[part][:, None]
        if r.has_trail:
            before = np.empty_like(high)
            before[:, 0] = -np.inf
            before[:, 1:] = high[:, :-1]
            # The peak before bar t: highs of the bars held through, up to t−1.
            top_before = np.maximum(np.maximum.accumulate(before, axis=1),
                                    peak[part][:, None])
            trail = np.where(top_before >= arm[part][:, None],
                             top_before * (1 - r.trail_pct / 100), -np.inf)
            eff = np.maximum(level_stop, trail)
        else:
            trail = np.full_like(high, -np.inf)
            eff = np.broadcast_to(level_stop, high.shape)
        at_open = bars > fill_bar[part][:, None]  # the open rules need a position from before
        gap_stop = at_open & (opened <= eff)
        gap_take = at_open & (opened >= level_take)
        bar_stop = low <= eff
        hit = (gap_stop | gap_take | bar_stop | (high >= level_take)) & inside
        found = hit.any(axis=1)
        rows = np.flatnonzero(found)
        col = hit[rows].argmax(axis=1)
        rank = np.where(gap_stop[rows, col], GAP_STOP,
                        np.where(gap_take[rows, col], GAP_TAKE,
                                 np.where(bar_stop[rows, col], BAR_STOP, BAR_TAKE)))
        key = bars[rows, col] * _SLOTS + rank
        top = np.maximum(peak[part], np.where(inside, high, -np.inf).max(axis=1))
        return found, key, eff[rows, col], trail[rows, col], top
