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
from numpy.lib.stride_tricks import sliding_window_view

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
_MAX_WIDTH = 4096  # the widest scan window (and the padding past the last bar)
_FIRST_WIDTH, _GROWTH = 16, 4  # scan windows: 16, 64, 256, … bars
# The padded series of the bars planned last (held, so ``is`` cannot match other arrays):
# every combination of a sweep shard plans on the same price arrays.
_LAST_SERIES: dict = {}
# The reason of each exit rank (stops: STOP_LOSS or TRAILING_STOP, set per position).
_REASON_OF_RANK = np.array([SIGNAL, TIME, STOP_LOSS, TAKE_PROFIT, STOP_LOSS, TAKE_PROFIT, TIME,
                            SIGNAL, END_OF_DATA], dtype=np.int8)


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
        self._windows: tuple[np.ndarray, ...] | None = None

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
        reason = _REASON_OF_RANK[rank]  # a lookup: np.select costs more than the plan here
        stops = (rank == GAP_STOP) | (rank == BAR_STOP)
        reason[stops] = np.where(trail[stops] > stop[stops], TRAILING_STOP, STOP_LOSS)
        return ExitPlan(valid, fill_bar, price, exit_bar, rank.astype(np.int8), ref, reason)

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
        at that bar; key = int64 max where no level is touched. Windows of bars grow
        ×4 from 16 (at most ``_MAX_WIDTH``) until every row has a touch or its bound."""
        m = decisions.shape[0]
        out_key = np.full(m, np.iinfo(np.int64).max, dtype=np.int64)
        out_eff, out_trail = stop.copy(), np.full(m, -np.inf)
        start = decisions + 1
        arm = price * (1 + self.rules.trail_activation_pct / 100)
        # The trailing peak while it is below the activation level is kept as −inf: an
        # inactive peak never sets the trail, and every later high ≥ arm exceeds it.
        peak = np.where(price >= arm, price, -np.inf)
        rows, width = np.arange(m), _FIRST_WIDTH
        while rows.shape[0]:
            step = max(1, _CELLS // width)
            pending = []
            for lo in range(0, rows.shape[0], step):
                part = rows[lo: lo + step]
                found, key, eff, trail, top = self._window(
                    start[part], width, fill_bar[part], peak[part], arm[part], stop[part],
                    take[part], bound[part])
                out_key[part[found]] = key
                out_eff[part[found]], out_trail[part[found]] = eff, trail
                more = ~found & (start[part] + width <= bound[part])
                peak[part[more]] = top[more]
                start[part[more]] += width
                pending.append(part[more])
            rows = np.concatenate(pending) if pending else rows[:0]
            width = min(width * _GROWTH, _MAX_WIDTH)
        return out_key, out_eff, out_trail

    def _series(self) -> tuple[np.ndarray, ...]:
        """Windows (``sliding_window_view``) over the bars, padded by ``_MAX_WIDTH`` so a
        window may run past the last bar: the lowest and highest price of each bar (open
        included, for gaps) and the highs for the trail; then the padded highs."""
        if self._windows is None:
            b = self.bars
            last = _LAST_SERIES.get("last")  # one read: (arrays, windows) stay a pair
            if last is not None and all(x is y for x, y in zip(last[0], (b.open, b.low, b.high),
                                                               strict=True)):
                self._windows = last[1]  # the same bars: a sweep's next combination
            else:
                pad = _MAX_WIDTH
                low = np.concatenate([np.fmin(b.open, b.low), np.full(pad, np.inf)])
                high = np.concatenate([np.fmax(b.open, b.high), np.full(pad, -np.inf)])
                highs = np.concatenate([b.high, np.full(pad, -np.inf)])
                self._windows = (*(sliding_window_view(a, _MAX_WIDTH)
                                   for a in (low, high, highs)), highs)
                _LAST_SERIES["last"] = ((b.open, b.low, b.high), self._windows)
        return self._windows

    def _window(self, start, width, fill_bar, peak, arm, stop, take, bound):
        """Bars start … start+width−1 of each row (rows past ``bound`` are cut after the
        search: the first touch is beyond it, or there is none): (found, key, effective
        stop, trail) of the rows with a touch and the peak after the window of every row."""
        b, r = self.bars, self.rules
        low_win, high_win, highs_win, highs_padded = self._series()
        lows, highs = low_win[start, :width], high_win[start, :width]
        take_col = take[:, None]
        if r.has_trail:
            # The peak before bar t: the highs held through up to t−1, as −inf until active.
            before = highs_win[start - 1, :width]
            before[:, 0] = peak
            inactive = before >= arm[:, None]
            np.logical_not(inactive, out=inactive)  # NaN highs too: they never set a peak
            np.copyto(before, -np.inf, where=inactive)
            np.maximum.accumulate(before, axis=1, out=before)
            trail = before * (1 - r.trail_pct / 100)
            eff = np.maximum(stop[:, None], trail)
            hit = lows <= eff
        else:
            trail, eff = None, None
            hit = lows <= stop[:, None]
        hit |= highs >= take_col
        if r.next_open:  # the fill bar (column 0 of a first window) has no open rules
            first = np.flatnonzero(start == fill_bar)
            fb = fill_bar[first]
            stop0 = eff[first, 0] if eff is not None else stop[first]
            hit[first, 0] = (b.low[fb] <= stop0) | (b.high[fb] >= take[first])
        col = hit.argmax(axis=1)
        everyone = np.arange(start.shape[0])
        at = start + col
        found = hit[everyone, col] & (at <= bound)
        rows = np.flatnonzero(found)
        col, at = col[rows], at[rows]
        eff_at = eff[rows, col] if eff is not None else stop[rows]
        trail_at = trail[rows, col] if trail is not None else np.full(rows.shape[0], -np.inf)
        opened, after_fill = b.open[at], at > fill_bar[rows]
        rank = np.where(after_fill & (opened <= eff_at), GAP_STOP,
                        np.where(after_fill & (opened >= take[rows]), GAP_TAKE,
                                 np.where(b.low[at] <= eff_at, BAR_STOP, BAR_TAKE)))
        key = at * _SLOTS + rank
        if r.has_trail:
            last_high = highs_padded[start + width - 1]
            top = np.maximum(before[:, -1], np.where(last_high >= arm, last_high, -np.inf))
        else:
            top = peak
        return found, key, eff_at, trail_at, top
