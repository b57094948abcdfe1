"""Worker-side progress, heartbeat and cancellation signal for one claimed attempt.

The engine calls ``report(fraction, stage, symbols_done)`` at every checkpoint (at least
every 0.5 s of work) and polls ``should_cancel()`` at the same points. Writes are
throttled here, and only here, to one per ``progress_interval_s`` (plus one per stage
change and per finished symbol); each write is conditional on the task
still being ``running`` under this attempt, so a cancel (or a takeover) is seen at the next
write or heartbeat, and the engine stops within ~``progress_interval_s`` of work.
"""

from __future__ import annotations

import threading
import time

from backtest_core.errors import TransitionRefused
from backtest_core.models import TaskRecord, TaskStatus
from backtest_core.observability import logger
from backtest_core.services import Services


class AttemptControl:
    """Progress writer + heartbeat thread of one attempt. Use as a context manager."""

    def __init__(self, svc: Services, record: TaskRecord):
        self._svc = svc
        self._task_id = record.task_id
        self._attempt = record.attempt
        self._done = record.symbols_done
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_write = 0.0
        self._last_stage: str | None = None
        self._best = record.progress
        # A takeover resumes below the stored progress: stay silent until it catches up
        # (the heartbeat keeps the lease) so stage and symbols_done never go backwards.
        self._floor = record.progress
        self.stopped_reason: str | None = None  # "cancelled" | "lease_lost"
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{self._task_id}",
                                        daemon=True)

    def __enter__(self) -> AttemptControl:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def should_cancel(self) -> bool:
        return self.stopped_reason is not None

    def report(self, fraction: float, stage: str, symbols_done: int | None = None) -> None:
        """Record progress (monotonic, clamped to [0, 1)). The one throttle of progress:
        a conditional write at most every ``progress_interval_s``, and at once when the
        stage or ``symbols_done`` (counted by the engine; None = unchanged) changes."""
        if fraction < self._floor:
            return
        fraction = min(max(fraction, self._best), 0.999)
        now_mono = time.monotonic()
        with self._lock:
            done = self._done if symbols_done is None else max(symbols_done, self._done)
            due = stage != self._last_stage or done != self._done or (
                now_mono - self._last_write >= self._svc.settings.progress_interval_s
            )
            if not due or self.stopped_reason:
                return
            self._last_write, self._last_stage, self._best = now_mono, stage, fraction
            self._done = done
        self._write(lambda now: self._svc.tasks.progress(
            self._task_id, self._attempt, fraction, stage, done, now,
            self._svc.settings.lease_seconds))

    def _beat(self) -> None:
        interval = max(self._svc.settings.lease_seconds / 3, 0.5)
        while not self._stop.wait(interval) and not self.stopped_reason:
            self._write(lambda now: self._svc.tasks.heartbeat(
                self._task_id, self._attempt, now, self._svc.settings.lease_seconds))

    def _write(self, op) -> None:
        try:
            op(self._svc.clock())
        except TransitionRefused as lost:
            self._observe(lost.current)
        except Exception:  # throttling, timeouts: progress is best effort, keep beating
            logger.warning("progress/heartbeat write failed; will retry",
                           extra={"task_id": self._task_id}, exc_info=True)

    def _observe(self, current: TaskRecord | None) -> None:
        if current is None or current.status is TaskStatus.CANCELLED:
            self.stopped_reason = "cancelled"
        elif current.status is not TaskStatus.RUNNING or current.attempt != self._attempt:
            self.stopped_reason = "lease_lost"
        # else: a stale (lower) progress value lost the monotonic check; nothing to do

