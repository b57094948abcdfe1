"""Exit plans of one symbol's candidate entries, resolved ahead in batches on demand.

The book asks for the plan of candidates in increasing order; most of them are never
asked for when entries cluster inside open positions. A miss resolves the next batch;
its size follows how many candidates pass between two requests and how long positions
last, so sparse masks are resolved many at a time and dense ones one by one.
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
        if self._gap * self._span > _DENSE_CELLS:
            size = 1
        else:
            size = int(min(_MAX_BATCH, max(8, _FIRST_BATCH * self._gap)))
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
