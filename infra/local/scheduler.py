"""EventBridge schedules locally: a timer per scheduled function (e.g. the reaper).

Every enabled ``Schedule`` event of the template invokes its function every ``rate``
seconds from the start (a fixed rate: ticks do not drift by the invocation's duration) (``LOCAL_SCHEDULE_RATE_S`` overrides every rate, e.g. for tests) with the event
EventBridge sends ("Scheduled Event"). A failed invocation is logged; the next tick runs
as usual (EventBridge retries, then drops).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infra.local.dispatcher import Invoker
from infra.local.errorlog import RepeatedErrors
from infra.local.naming import ACCOUNT_ID

log = logging.getLogger("local.schedule")


@dataclass(frozen=True)
class Timer:
    function: Invoker
    rate_s: float
    rule_arn: str


def scheduled_event(rule_arn: str, region: str) -> dict[str, Any]:
    """What EventBridge passes to a scheduled Lambda."""
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
        "resources": [rule_arn], "detail": {},
    }


class Scheduler:
    """Runs every timer in its own thread until ``stop()``."""

    def __init__(self, timers: list[Timer], region: str) -> None:
        self._timers = timers
        self._region = region
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors = RepeatedErrors(log)  # e.g. every tick while the emulation restarts

    def start(self) -> None:
        for timer in self._timers:
            thread = threading.Thread(target=self._run, args=(timer,), daemon=True,
                                      name=f"schedule-{timer.function.spec.logical_id}")
            thread.start()
            self._threads.append(thread)
            log.info("schedule %s: every %g s", timer.function.spec.logical_id, timer.rate_s)

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, timer: Timer) -> None:
        key = f"schedule {timer.function.spec.logical_id}"
        next_at = time.monotonic()
        # A fixed rate, as EventBridge's: a long invocation (the reaper watches for most of
        # its minute) does not push the next tick back; a missed tick runs at once. The
        # first tick is at start, as if the rule had been ticking all along (deployed, it
        # has): after a restart the reaper looks at once.
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at = max(next_at + timer.rate_s, time.monotonic())
            try:
                timer.function.invoke(scheduled_event(timer.rule_arn, self._region))
            except Exception as exc:
                if self._stop.is_set():
                    return
                self.errors.failed(key, exc)
            else:
                self.errors.ok(key)
