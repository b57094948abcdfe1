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

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.local.process import StackProcess

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
    with running_stack(tmp_path_factory.mktemp("local-stack") / "stack.log", WORKERS="2",
                       LOCAL_VISIBILITY_TIMEOUT="3") as stack:
        yield Endpoints(stack.api_url, stack.aws_endpoint, stack.log_path)


@contextmanager
def running_stack(log_path: Path, **extra_env: str) -> Iterator[StackProcess]:
    """A local stack for the duration of the block; it must start healthy and exit 0."""
    stack = StackProcess(log_path, **extra_env)
    try:
        try:
            stack.wait_healthy(STARTUP_DEADLINE_S)
        except RuntimeError as exc:
            pytest.fail(str(exc))
        yield stack
    finally:
        code, in_time = stack.stop(STOP_DEADLINE_S)
        if not in_time:
            pytest.fail(f"local stack ignored SIGTERM for {STOP_DEADLINE_S:.0f} s:\n"
                        f"{stack.tail()}")
        assert code == 0, f"local stack exited with {code} (log {log_path}):\n{stack.tail()}"


@pytest.fixture(scope="session")
def api_url(endpoints: Endpoints) -> str:
    """Base URL of the API under test (``{api_url}/api/health``)."""
    return endpoints.api_url


@pytest.fixture(scope="session")
def aws_endpoint(endpoints: Endpoints) -> str | None:
    """AWS endpoint of the stack under test (moto or LocalStack); None for real AWS."""
    return endpoints.aws_endpoint
