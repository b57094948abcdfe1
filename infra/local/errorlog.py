"""Repeated errors of the local pollers, logged once per interval with a count.

A poller (SQS dispatcher, stream poller, schedule timer) that fails on every iteration,
e.g. while the emulation restarts, would otherwise log a line (or a traceback) several
times a second. ``RepeatedErrors`` logs the first failure of a key at once, then at most
one line per ``interval_s`` saying how many more failures there were, and one line when
the key works again. ``failing()`` tells the health check what is failing right now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

INTERVAL_S = 10.0


@dataclass
class _Failing:
    since: float
    logged_at: float
    message: str
    unlogged: int = 0
    total: int = 1


class RepeatedErrors:
    """Thread-safe; one instance per poller family, one key per thing that fails."""

    def __init__(self, logger: logging.Logger, interval_s: float = INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self._interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failing: dict[str, _Failing] = {}

    def failed(self, key: str, error: object) -> None:
        """``key`` failed with ``error`` (one line, no traceback)."""
        now, message = self._clock(), _one_line(error)
        with self._lock:
            state = self._failing.get(key)
            if state is None:
                self._failing[key] = _Failing(since=now, logged_at=now, message=message)
                line = f"{key} failed: {message} (repeats logged once per " \
                       f"{self._interval_s:g} s)"
            else:
                state.message, state.unlogged, state.total = (message, state.unlogged + 1,
                                                              state.total + 1)
                if now - state.logged_at < self._interval_s:
                    return
                line = (f"{key} failed {state.unlogged} more time(s) in the last "
                        f"{now - state.logged_at:.0f} s (failing for {now - state.since:.0f} s):"
                        f" {message}")
                state.logged_at, state.unlogged = now, 0
        self._log.warning("%s", line)

    def ok(self, key: str) -> None:
        """``key`` worked: one line if it had been failing."""
        if key not in self._failing:  # the common case, without the lock
            return
        with self._lock:
            state = self._failing.pop(key, None)
        if state is not None:
            self._log.info("%s works again after %d failure(s) in %.0f s", key, state.total,
                           self._clock() - state.since)

    def failing(self) -> dict[str, str]:
        """What fails right now: key → "for N s: last error"."""
        now = self._clock()
        with self._lock:
            return {key: f"failing for {now - s.since:.0f} s: {s.message}"
                    for key, s in self._failing.items()}


def _one_line(error: object) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]
