"""Powertools logger and metrics (EMF). The tracer is optional and imported lazily:
``Tracer()`` costs ~0.5 s of cold import (X-Ray SDK), too much for the API functions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "AsyncBacktest"

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME
metrics = Metrics(namespace=NAMESPACE)

__all__ = ["logger", "metrics", "MetricUnit", "count", "traced"]


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """Add one metric point to the current invocation's EMF blob."""
    metrics.add_metric(name=name, unit=unit, value=value)


@contextmanager
def traced(name: str, enabled: bool) -> Iterator[None]:
    """An X-Ray subsegment around a block when tracing is enabled (template EnableTracing);
    otherwise nothing is imported: the X-Ray SDK stays out of every cold start."""
    if not enabled:
        yield
        return
    from aws_lambda_powertools import Tracer  # pragma: no cover - AWS with tracing only

    with Tracer().provider.in_subsegment(name):  # pragma: no cover
        yield
