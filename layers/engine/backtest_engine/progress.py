"""Progress reporting and cancellation polling, throttled to a steady cadence."""

from __future__ import annotations

import time
from collections.abc import Callable

from .errors import BacktestCancelled

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]

EMIT_INTERVAL_S = 0.25
"""Minimum seconds between two ``progress`` calls within one stage. Checkpoints come at
least every few milliseconds of work, so callbacks arrive at most ~0.25 s apart (< 0.5 s)."""


class ProgressTracker:
    """Turns frequent checkpoints into monotonic ``progress(fraction, stage)`` calls.

    Every emitted call is followed by a ``should_cancel()`` poll; when it returns true the
    tracker raises BacktestCancelled. A stage change always emits. ``clock`` returns seconds.
    """

    def __init__(
        self,
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval_s: float = EMIT_INTERVAL_S,
    ):
        self._progress = progress or (lambda _f, _s: None)
        self._should_cancel = should_cancel or (lambda: False)
        self._clock = clock
        self._interval_s = interval_s
        self._fraction = 0.0
        self._stage: str | None = None
        self._emitted_at = float("-inf")

    def update(self, fraction: float, stage: str) -> None:
        """Checkpoint at ``fraction`` (0..1, clamped to never go back) of ``stage``."""
        # rounded so that e.g. 0.1 * 3 / 3 reports 0.1, not 0.10000000000000002
        self._fraction = min(max(self._fraction, round(fraction, 6)), 1.0)
        now = self._clock()
        if stage == self._stage and now - self._emitted_at < self._interval_s:
            return
        self._stage, self._emitted_at = stage, now
        self._progress(self._fraction, stage)
        if self._should_cancel():
            raise BacktestCancelled("Task cancelled by user")

    def force(self, fraction: float, stage: str) -> None:
        """Checkpoint that always emits (e.g. at the end of a stage)."""
        self._emitted_at = float("-inf")
        self.update(fraction, stage)
