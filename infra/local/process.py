"""The local stack as a child process on free ports (end-to-end tests and benchmarks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from infra.local.emulation import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


class StackProcess:
    """``python -m infra.local.stack`` in its own process group, logging to ``log_path``.

    ``extra_env`` is added to the environment (e.g. ``WORKERS``, ``FARGATE_MIN_CANDLES``);
    ``API_URL``/``AWS_ENDPOINT_URL`` of the caller are not passed on. It keeps no state
    (``LOCAL_STATE_DIR=""``) unless ``extra_env`` names a directory.
    """

    def __init__(self, log_path: Path, **extra_env: str) -> None:
        port, moto_port = free_port(), free_port()
        self.api_url = f"http://127.0.0.1:{port}"
        self.aws_endpoint = f"http://127.0.0.1:{moto_port}"
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if k not in ("API_URL", "AWS_ENDPOINT_URL")}
        env.update(HOST="127.0.0.1", PORT=str(port), MOTO_PORT=str(moto_port),
                   PYTHONUNBUFFERED="1", LOCAL_STATE_DIR="")
        env.update(extra_env)
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "infra.local.stack"], cwd=REPO_ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        """Deadline poll of GET /api/health; RuntimeError (with the log's tail) otherwise."""
        deadline = time.monotonic() + timeout_s
        last_error = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"local stack exited with {self.proc.returncode} before it "
                                   f"was healthy:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/api/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError as exc:
                last_error = str(exc)
            time.sleep(0.05)  # poll interval of a deadline loop, not a wait for an outcome
        raise RuntimeError(f"local stack not healthy within {timeout_s:.0f} s ({last_error}):\n"
                           f"{self.tail()}")

    def stop(self, timeout_s: float = 20.0) -> tuple[int, bool]:
        """SIGTERM to the stack's process group; (exit code, whether it stopped in time).
        A stack that ignores SIGTERM for ``timeout_s`` is killed."""
        if self.proc.poll() is not None:
            return self.proc.returncode, True
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s), True
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(), False

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
