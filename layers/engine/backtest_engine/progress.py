"""Progress records and cancellation polling at the engine's checkpoints.

The engine reports at every checkpoint (strategy chunks come every few milliseconds of
work, never more than ~0.25 s apart) and does not throttle: the caller does, once (the
worker writes at most one record per ``PROGRESS_INTERVAL_S``, plus every stage change and
every finished symbol; backtest_core.usecases.progress).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .errors import BacktestCancelled


@dataclass(frozen=True)
class Progress:
    """One report: ``fraction`` of the whole run (0..1, never goes back), the ``stage``
    label, and how many of ``symbols_total`` symbols are finished (run, or failed for
    lack of data) — counted, not derived from the fraction.

    >>> Progress(0.45, "running_strategy", symbols_done=1, symbols_total=2).symbols_done
    1
    """

    fraction: float
    stage: str
    symbols_done: int
    symbols_total: int


ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


class ProgressTracker:
    """Turns checkpoints into monotonic ``Progress`` records.

    Every record is followed by a ``should_cancel()`` poll; when it returns true the
    tracker raises BacktestCancelled.
    """

    def __init__(
        self,
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
        symbols_total: int = 0,
    ):
        self._progress = progress or (lambda _p: None)
        self._should_cancel = should_cancel or (lambda: False)
        self._fraction = 0.0
        self._done = 0
        self._total = symbols_total

    def symbol_done(self) -> None:
        """One more symbol is finished (reported with the next checkpoint)."""
        self._done = min(self._done + 1, self._total)

    def update(self, fraction: float, stage: str) -> None:
        """Checkpoint at ``fraction`` (0..1, clamped to never go back) of ``stage``."""
        # rounded so that e.g. 0.1 * 3 / 3 reports 0.1, not 0.10000000000000002
        self._fraction = min(max(self._fraction, round(fraction, 6)), 1.0)
        self._progress(Progress(self._fraction, stage, self._done, self._total))
        if self._should_cancel():
            raise BacktestCancelled("Task cancelled by user")

    force = update  # a stage boundary: same as any checkpoint now that nothing throttles
