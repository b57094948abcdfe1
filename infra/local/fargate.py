"""The local Fargate stand-in: a long run's container is a subprocess of the stack.

``SubprocessLauncher.launch`` starts ``python infra/fargate/entry.py`` with ``TASK_ID`` and
``ATTEMPT`` (the RunTask overrides) on top of the worker function's environment, in which
``AWS_ENDPOINT_URL`` points at the moto process, so the child reaches the same tables,
queues and bucket. With ``FARGATE_MIN_CANDLES`` set, the stack names ``install_stand_in``
as the worker sandbox's init hook (infra/local/stack.py): it is injected into the worker's
``Services`` inside that sandbox. It logs one line per launch and one per exit; the children
still running are terminated when the sandbox exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

log = logging.getLogger("local.fargate")
REPO_ROOT = Path(__file__).resolve().parents[2]
ENTRY = REPO_ROOT / "infra" / "fargate" / "entry.py"
LAYERS = (REPO_ROOT / "layers" / "core", REPO_ROOT / "layers" / "engine")


class SubprocessLauncher:
    """``backtest_core.launcher.Launcher`` that runs the container entry point locally."""

    def __init__(self, env: dict[str, str]):
        self._env = dict(env)
        self._lock = threading.Lock()
        self._running: dict[int, subprocess.Popen[bytes]] = {}

    def launch(self, task_id: str, attempt: int) -> str:
        path = os.pathsep.join([*map(str, LAYERS), os.environ.get("PYTHONPATH", "")]).rstrip(
            os.pathsep)
        env = {**os.environ, **self._env, "TASK_ID": task_id, "ATTEMPT": str(attempt),
               "PYTHONPATH": path}
        proc = subprocess.Popen([sys.executable, str(ENTRY)], cwd=REPO_ROOT, env=env,
                                stdin=subprocess.DEVNULL)
        with self._lock:
            self._running[proc.pid] = proc
        log.info("fargate stand-in: task %s attempt %d started as pid %d", task_id, attempt,
                 proc.pid)
        threading.Thread(target=self._reap, args=(proc, task_id), daemon=True,
                         name=f"fargate-{proc.pid}").start()
        return f"local-pid-{proc.pid}"

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate the containers still running (as ECS would stop them)."""
        with self._lock:
            running = list(self._running.values())
        for proc in running:
            proc.terminate()
        for proc in running:
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _reap(self, proc: subprocess.Popen[bytes], task_id: str) -> None:
        code = proc.wait()
        with self._lock:
            self._running.pop(proc.pid, None)
        log.info("fargate stand-in: task %s pid %d exited with %d", task_id, proc.pid, code)


def install_stand_in() -> None:
    """Init hook of the worker's sandbox (``LOCAL_SANDBOX_INIT``): long runs go to a
    subprocess launcher instead of ECS; its children stop with the sandbox."""
    from backtest_core.services import services

    svc = services()
    if svc.settings.fargate_min_candles <= 0:
        raise RuntimeError("the Fargate stand-in needs FARGATE_MIN_CANDLES in the worker's env")
    launcher = SubprocessLauncher(dict(os.environ))
    svc.launcher = launcher
    atexit.register(launcher.stop)
