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
    """Plans of the candidate entries ``decisions`` (sorted int64 bars) of one symbol."""

    def __init__(self, planner: ExitPlanner, decisions: np.ndarray) -> None:
        self.planner, self.decisions = planner, decisions
        self._resolved_to = 0  # candidates [0, _resolved_to) have plans
        size = decisions.shape[0]
        self._fill_bar: list = [0] * size
        self._price: list = [0.0] * size
        self._exit_bar: list = [0] * size
        self._rank: list = [0] * size
        self._ref: list = [0.0] * size
        self._reason: list = [0] * size
        self._gap, self._span, self._last_asked = 1.0, 1.0, -1
        self._batch = _FIRST_BATCH if planner.rules.has_levels else max(size, 1)

    def get(self, k: int) -> tuple[int, float, int, int, float, int]:
        """(fill bar, fill price, exit bar, exit rank, exit reference price, reason) of
        candidate ``k``; ``k`` never decreases between calls."""
        if self._last_asked >= 0:
            self._gap = 0.8 * self._gap + 0.2 * (k - self._last_asked)
        self._last_asked = k
        if k >= self._resolved_to:
            self._resolve(k)
        return (self._fill_bar[k], self._price[k], self._exit_bar[k], self._rank[k],
                self._ref[k], self._reason[k])

    def _resolve(self, k: int) -> None:
        if self.planner.rules.has_levels and self._gap * self._span > _DENSE_CELLS:
            size = 1
        else:
            size = self._batch
            self._batch = min(_MAX_BATCH, 2 * size) if self.planner.rules.has_levels else size
        stop = min(self.decisions.shape[0], k + size)
        plan = self.planner.plan(self.decisions[k:stop])
        self._fill_bar[k:stop] = plan.fill_bar.tolist()
        self._price[k:stop] = plan.fill_price.tolist()
        self._exit_bar[k:stop] = plan.exit_bar.tolist()
        self._rank[k:stop] = plan.exit_rank.tolist()
        self._ref[k:stop] = plan.exit_ref.tolist()
        self._reason[k:stop] = plan.reason.tolist()
        held = plan.exit_bar - self.decisions[k:stop]
        self._span = 0.5 * self._span + 0.5 * float(held.mean())
        self._resolved_to = stop
