"""End-to-end fixtures: a real HTTP endpoint of the whole service.

- ``API_URL`` set (e.g. a LocalStack deployment, see infra/local/localstack.md): the suite
  runs against it, with ``AWS_ENDPOINT_URL`` as ``aws_endpoint``. Nothing is started.
- otherwise: ``python -m infra.local.stack`` is started as a subprocess on free ports, one
  per pytest-xdist worker (each worker has its own session), and stopped with SIGTERM at
  the end; the fixture asserts that it exited with 0. Its log is kept under pytest's tmp
  directory (path printed on failure).

Every test under tests/e2e gets the ``e2e`` marker.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE_S = 60.0  # cold imports on a busy CI box; ~2 s on a laptop
STOP_DEADLINE_S = 20.0


@dataclass(frozen=True)
class Endpoints:
    api_url: str  # base URL, routes live under /api
    aws_endpoint: str | None  # boto3 endpoint of the stack's AWS (moto or LocalStack)
    log_path: Path | None  # the local stack's log, when this session started it


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    if os.environ.get("API_URL"):
        yield Endpoints(os.environ["API_URL"].rstrip("/"), os.environ.get("AWS_ENDPOINT_URL"), None)
        return
    log_path = tmp_path_factory.mktemp("local-stack") / "stack.log"
    port, moto_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("API_URL", "AWS_ENDPOINT_URL")}
    env.update(HOST="127.0.0.1", PORT=str(port), MOTO_PORT=str(moto_port), WORKERS="2",
               LOCAL_VISIBILITY_TIMEOUT="3", PYTHONUNBUFFERED="1")
    api_url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "infra.local.stack"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_healthy(api_url, proc, log_path)
        yield Endpoints(api_url, f"http://127.0.0.1:{moto_port}", log_path)
    finally:
        _stop(proc, log_path)


@pytest.fixture(scope="session")
def api_url(endpoints: Endpoints) -> str:
    """Base URL of the API under test (``{api_url}/api/health``)."""
    return endpoints.api_url


@pytest.fixture(scope="session")
def aws_endpoint(endpoints: Endpoints) -> str | None:
    """AWS endpoint of the stack under test (moto or LocalStack); None for real AWS."""
    return endpoints.aws_endpoint


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(api_url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    last_error = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"local stack exited with {proc.returncode} before it was healthy:\n"
                        f"{_tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{api_url}/api/health", timeout=2) as resp:
                if json.loads(resp.read()).get("status") == "ok":
                    return
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last_error = str(exc)
        time.sleep(0.05)  # poll interval of a deadline loop, not a wait for an outcome
    pytest.fail(f"local stack not healthy within {STARTUP_DEADLINE_S:.0f} s ({last_error}):\n"
                f"{_tail(log_path)}")


def _stop(proc: subprocess.Popen[bytes], log_path: Path) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"local stack ignored SIGTERM for {STOP_DEADLINE_S:.0f} s:\n"
                        f"{_tail(log_path)}")
    assert proc.returncode == 0, (
        f"local stack exited with {proc.returncode} (log {log_path}):\n{_tail(log_path)}"
    )


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
