"""Exit plans of one symbol's candidate entries, resolved ahead in batches on demand.

The book asks for the plan of candidates in increasing order; most of them are never
asked for when entries cluster inside open positions. Without price levels a plan costs
a few array operations per candidate, so every candidate is resolved at once. With
levels a miss resolves the next batch: one by one when many candidates pass between two
requests and positions last long (each plan scans its position's bars, mostly for
candidates that are never asked for), else a batch that doubles each time (up to
``_MAX_BATCH``), so the fixed cost of a batch is paid a few times, not once per trade.
"""

from __future__ import annotations

import numpy as np

from backtest_engine.sim.exits import ExitPlanner

_FIRST_BATCH = 64
_DENSE_CELLS = 3000  # candidates per request × bars per position above which one at a time
_MAX_BATCH = 16384


class PlanCache:
    """Plans of the candidate entries ``decisions`` (sorted int64 bars) of one symbol.

    Resolved plans are kept as arrays (``fill_bar price exit_bar rank ref reason``, one
    row per candidate, valid below ``resolved_to``); what the book's loops read per trade
    also as lists: ``price_list``, ``ref_list`` and ``after`` (``after[k]``: the first
    candidate decided after candidate k's exit bar).
    """

    def __init__(self, planner: ExitPlanner, decisions: np.ndarray) -> None:
        self.planner, self.decisions = planner, decisions
        self.resolved_to = 0  # candidates [0, resolved_to) have plans
        size = decisions.shape[0]
        self.fill_bar = np.zeros(size, dtype=np.int64)
        self.price = np.zeros(size)
        self.exit_bar = np.zeros(size, dtype=np.int64)
        self.rank = np.zeros(size, dtype=np.int8)
        self.ref = np.zeros(size)
        self.reason = np.zeros(size, dtype=np.int8)
        self.price_list: list = [0.0] * size
        self.ref_list: list = [0.0] * size
        self.after: list = [0] * size
        self._gap, self._span, self._batch_from, self._asked = 1.0, 1.0, 0, 0
        self._batch = _FIRST_BATCH if planner.rules.has_levels else max(size, 1)

    def get(self, k: int) -> tuple[int, float, int, int, float, int]:
        """(fill bar, fill price, exit bar, exit rank, exit reference price, reason) of
        candidate ``k``; ``k`` never decreases between calls."""
        self._asked += 1
        if k >= self.resolved_to:
            self.resolve(k, 0)
        return (int(self.fill_bar[k]), self.price_list[k], int(self.exit_bar[k]),
                int(self.rank[k]), self.ref_list[k], int(self.reason[k]))

    def resolve(self, k: int, asked: int) -> None:
        """Plans from candidate ``k`` (≥ ``resolved_to``) on; ``asked``: plans used since
        the last call besides those asked through ``get``."""
        asked += self._asked
        if asked:  # candidates passed per plan used since the last batch
            self._gap = 0.5 * self._gap + 0.5 * (k - self._batch_from) / asked
        self._batch_from, self._asked = k, 0
        if self.planner.rules.has_levels and self._gap * self._span > _DENSE_CELLS:
            size = 1
        else:
            size = self._batch
            self._batch = min(_MAX_BATCH, 2 * size) if self.planner.rules.has_levels else size
        stop = min(self.decisions.shape[0], k + size)
        plan = self.planner.plan(self.decisions[k:stop])
        after = np.searchsorted(self.decisions, plan.exit_bar, side="right")
        columns = (plan.fill_bar, plan.fill_price, plan.exit_bar, plan.exit_rank,
                   plan.exit_ref, plan.reason)
        for array, column in zip((self.fill_bar, self.price, self.exit_bar, self.rank,
                                  self.ref, self.reason), columns, strict=True):
            array[k:stop] = column
        self.price_list[k:stop] = plan.fill_price.tolist()
        self.ref_list[k:stop] = plan.exit_ref.tolist()
        self.after[k:stop] = after.tolist()
        held = plan.exit_bar - self.decisions[k:stop]
        self._span = 0.5 * self._span + 0.5 * float(held.mean())
        self.resolved_to = stop
