"""Supervision of the local stack's parts: the emulation (moto process) and the dispatcher.

- A thread checks the moto process every ``CHECK_S``. When it has died (e.g. ``kill -9``)
  it is reaped at once (no zombie) and ``restart`` is called: a new moto process on the
  same port, its state reloaded from the snapshot + journal (stack.py). At most
  ``MAX_RESTARTS`` per ``WINDOW_S``; one more death, a failed restart beyond that, or a
  stack without a state directory (nothing to reload from) calls ``give_up`` with one
  line, and the stack exits non-zero.
- ``handle`` is the first hook of the HTTP server: while the emulation is down every
  ``/api/`` request is answered 503 ``{"detail": ...}`` with ``Retry-After`` (instead of a
  function failing with 500), and ``GET /api/health`` is 503 ``{"status": "degraded",
  "detail", "timestamp", "components"}`` when the emulation or the dispatcher is down.
  When both work, health goes to its function as usual (200 ``{status: "ok", timestamp}``).
  The process is checked on every request too, so no answer comes from behind a green
  health between two checks of the thread.

See docs/local.md ("Supervision").
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infra.local.dispatcher import Dispatcher
from infra.local.emulation import Emulation

log = logging.getLogger("local.supervisor")
CHECK_S = 0.25
MAX_RESTARTS = 3
WINDOW_S = 60.0
RETRY_AFTER_S = 2


class Supervisor:
    def __init__(self, emulation: Emulation, dispatcher: Dispatcher,
                 restart: Callable[[], None] | None, give_up: Callable[[str], None],
                 check_s: float = CHECK_S, max_restarts: int = MAX_RESTARTS,
                 window_s: float = WINDOW_S) -> None:
        self._emu = emulation
        self._dispatcher = dispatcher
        self._restart = restart
        self._give_up = give_up
        self._check_s = check_s
        self._max_restarts = max_restarts
        self._window_s = window_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._restarts: list[float] = []  # monotonic times of the recent restarts
        self._down: str | None = None  # why the emulation is down (while it restarts)
        self.restarts = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop watching (a restart under way is finished first, up to ``timeout_s``)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def problems(self) -> dict[str, str]:
        """component → why it is down, for the parts that are down right now."""
        out: dict[str, str] = {}
        emulation = self._down or self._death()
        if emulation:
            out["emulation"] = emulation
        dispatcher = self._dispatcher.problem()
        if dispatcher:
            out["dispatcher"] = dispatcher
        return out

    def handle(self, handler: Any) -> bool:
        """HTTP hook (``ApiServer.hooks``): 503 for ``/api/`` while a part is down."""
        path = handler.path.partition("?")[0]
        if not path.startswith("/api/"):
            return False
        problems = self.problems()
        if path == "/api/health" and handler.command in ("GET", "HEAD") and problems:
            body = {"status": "degraded",
                    "detail": "; ".join(f"{k}: {v}" for k, v in problems.items()),
                    "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "components": {k: {"status": "down", "detail": v}
                                   for k, v in problems.items()}}
        elif "emulation" in problems:
            body = {"detail": f"The local AWS emulation is unavailable "
                              f"({problems['emulation']}); retry in a few seconds"}
        else:
            return False
        headers = [("content-type", "application/json"),
                   ("retry-after", str(RETRY_AFTER_S))]
        unread_body = (handler.headers.get("content-length", "0") not in ("", "0")
                       or "chunked" in handler.headers.get("transfer-encoding", "").lower())
        handler._send(503, headers, json.dumps(body).encode(), close=unread_body)
        return True

    def _death(self) -> str | None:
        code = self._emu.exit_code()
        if code is None or self._stop.is_set():
            return None
        return f"moto (pid {self._emu.pid}) {describe_exit(code)}"

    def _run(self) -> None:
        while not self._stop.wait(self._check_s):
            death = self._death()
            if death is None:
                continue
            now = time.monotonic()
            self._restarts = [t for t in self._restarts if now - t < self._window_s]
            if self._restart is None:
                self._fail(f"the AWS emulation died ({death}) and LOCAL_STATE_DIR is empty:"
                           " nothing to reload its state from")
                return
            if len(self._restarts) >= self._max_restarts:
                self._fail(f"the AWS emulation died ({death}) after {len(self._restarts)}"
                           f" restart(s) within {self._window_s:g} s")
                return
            self._restarts.append(now)
            self.restarts += 1
            self._down = f"{death}; restarting"
            log.error("emulation down: %s; restarting it with its state reloaded", death)
            started = time.perf_counter()
            try:
                self._restart()
            except Exception as exc:  # the dead process is still in place: retried above
                log.error("emulation restart failed: %s", " ".join(str(exc).split())[:300])
                self._down = f"{death}; its restart failed"
                continue
            self._down = None
            log.warning("emulation restarted (moto pid %s) in %.1f s, state reloaded",
                        self._emu.pid, time.perf_counter() - started)

    def _fail(self, reason: str) -> None:
        self._down = reason
        log.critical("local stack exits: %s", reason)
        self._give_up(reason)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"
