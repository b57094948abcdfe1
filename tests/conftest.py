"""Shared fixtures: the template's resources in moto, in-process, and a controllable clock."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from moto import mock_aws  # first: boto3 sessions made from now on carry moto's stub

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


class FakeClock:
    """A UTC clock the test moves by hand (``advance``)."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class AwsEnv:
    """moto in-process with template.yaml's resources, and the functions' environment."""

    env: dict[str, str]
    queue_urls: dict[str, str]

    def client(self, service: str):
        return _session().client(service, region_name="us-east-1")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsEnv]:
    from infra.local.bootstrap import create_resources
    from infra.local.emulation import FAKE_CREDENTIALS, LOCAL_FUNCTION_ENV
    from infra.local.moto_lock import install_dynamodb_lock

    install_dynamodb_lock()
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key, value in {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        model = template_model()
        clients = {s: _session().client(s, region_name="us-east-1") for s in ("dynamodb", "sqs", "s3")}
        urls = create_resources(model, clients, visibility_timeout_override_s=2)
        env: dict[str, str] = {}
        for fn in model.functions:
            env.update(fn.environment)
        env.update(LOCAL_FUNCTION_ENV)
        env["JOBS_QUEUE_URL"] = urls["JobsQueue"]
        env["PROGRESS_INTERVAL_S"] = "0"
        env["RETRY_BACKOFF_S"] = "1"
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        _reset_caches()
        yield AwsEnv(env=env, queue_urls=urls)
        _reset_caches()


@functools.cache
def _session():
    """One boto3 Session for the fixtures' clients: moto resets boto3's default session at
    every start, and a new Session loads every service model again (~70 ms a client)."""
    import boto3

    return boto3.session.Session()


@functools.cache
def _parsed_model():
    from infra.local.template_model import build_model

    return build_model(ROOT / "template.yaml", "https://sqs.us-east-1.amazonaws.com")


def template_model():
    """template.yaml's model as the in-process tests use it (a copy: parsed once)."""
    import copy

    return copy.deepcopy(_parsed_model())


def _reset_caches() -> None:
    from backtest_core import aws as aws_clients
    from backtest_core import services, settings
    from backtest_core.api import idempotency
    from backtest_engine import warm

    aws_clients.client.cache_clear()
    warm.clear()  # a fresh stack's workers are cold
    settings.settings.cache_clear()
    services.services.cache_clear()
    idempotency._once.cache_clear()


STORED_PAIRS = (("BTC_KRW", "1d"), ("BTC_KRW", "1h"), ("ETH_KRW", "1d"), ("ETH_KRW", "1h"))


def store_candles(aws: AwsEnv, pairs=STORED_PAIRS) -> None:
    """Small real year files (2024: daily bars all year, hourly bars in January) for each
    (symbol, timeframe) of ``pairs`` in the data prefix, as the local stack stores them."""
    s3 = aws.client("s3")
    for symbol, timeframe in pairs:
        for key, body in _layout(symbol, timeframe).items():
            s3.put_object(Bucket=aws.env["BUCKET"], Key=aws.env["DATA_PREFIX"] + key, Body=body)


@functools.cache
def _layout(symbol: str, timeframe: str) -> dict[str, bytes]:
    import numpy as np
    import pandas as pd

    from backtest_engine import to_parquet_layout

    n, freq = (366, "D") if timeframe == "1d" else (744, "h")
    close = 100 + np.cumsum(np.sin(np.arange(n) / 7.0))
    df = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq=freq, tz="UTC"),
                       "open": close, "high": close + 1, "low": close - 1, "close": close,
                       "volume": 1000.0 + np.arange(n) % 17})
    return to_parquet_layout(df, symbol, timeframe)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def svc(aws: AwsEnv, clock: FakeClock):
    """Services wired to moto, with the fake clock."""
    from backtest_core.services import Services
    from backtest_core.settings import Settings

    return Services.from_settings(Settings.from_env(os.environ), clock=clock)


@pytest.fixture
def api(aws: AwsEnv):
    """The API functions behind template.yaml's routes, invoked in-process."""
    from tests.inprocess_api import InProcessApi

    return InProcessApi()
