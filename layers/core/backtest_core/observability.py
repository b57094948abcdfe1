"""Powertools logger and metrics (EMF). The tracer is optional and imported lazily:
``Tracer()`` costs ~0.5 s of cold import (X-Ray SDK), too much for the API functions."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "AsyncBacktest"

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME
metrics = Metrics(namespace=NAMESPACE)

__all__ = ["logger", "metrics", "MetricUnit", "count", "tracer"]


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """Add one metric point to the current invocation's EMF blob."""
    metrics.add_metric(name=name, unit=unit, value=value)


def tracer():  # pragma: no cover - only with POWERTOOLS_TRACE_DISABLED=false on AWS
    """The X-Ray tracer, created on first use (keeps the X-Ray SDK out of cold imports)."""
    from aws_lambda_powertools import Tracer

    return Tracer(service="backtest")
