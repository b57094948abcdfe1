"""Transient vs permanent failures in the worker (docs/operations.md): only AWS throttling, AWS 5xx and
connection errors are retried; everything else fails the task at once, in plain words."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from backtest_core.faults import is_transient
from backtest_core.models import BacktestRequest, QueueMessage, TaskStatus
from backtest_core.usecases.jobs import UNREADABLE, handle_job
from backtest_core.usecases.run_task import run_task
from tests.unit.core.fakes import FakeEngine, aws_error

REQUEST = BacktestRequest(strategy="volume_zone_breakout", symbols=["BTC_KRW"],
                          start_date="2024-01-01", end_date="2024-03-31")
# "OverflowError: ...", "KeyError", "ClientError" ...: no Python class name in a task's error.
CLASS_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b")


def _label(error: Exception) -> str:
    code = error.response["Error"]["Code"] if isinstance(error, ClientError) else None
    return code or type(error).__name__


def _queued(svc, clock, task_id: str = "t1") -> QueueMessage:
    svc.tasks.create(task_id, "alice", REQUEST, clock())
    return QueueMessage(task_id=task_id, owner="alice", enqueued_at="2024-01-01T00:00:00.000Z")


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (aws_error("SlowDown", status=503), True),
        (aws_error("ThrottlingException", status=400), True),
        (aws_error("ProvisionedThroughputExceededException", status=400), True),
        (aws_error("InternalError", status=500), True),
        (aws_error("Whatever", status=502), True),
        (aws_error("TooManyRequestsException", status=429), True),
        (EndpointConnectionError(endpoint_url="https://s3.amazonaws.com"), True),
        (ConnectionClosedError(endpoint_url="https://s3.amazonaws.com"), True),
        (ReadTimeoutError(endpoint_url="https://s3.amazonaws.com"), True),
        (aws_error("AccessDenied", status=403), False),
        (aws_error("ValidationException", status=400), False),
        (aws_error("NoSuchKey", status=404), False),
        (OverflowError("date value out of range"), False),
        (KeyError("close"), False),
        (RuntimeError("bug"), False),
        (ValueError("bad"), False),
    ],
    ids=lambda v: str(v) if isinstance(v, bool) else _label(v),
)
def test_given_an_error_then_only_aws_throttling_5xx_and_connection_errors_are_transient(
    error, transient
):
    assert is_transient(error) is transient


def test_given_a_permanent_error_in_the_engine_then_the_task_fails_at_once_in_plain_words(
    svc, clock
):
    errors = [OverflowError("date value out of range"), KeyError("close"), ZeroDivisionError(),
              aws_error("AccessDenied", status=403, message="Access Denied")]
    for i, error in enumerate(errors):
        message = _queued(svc, clock, task_id=f"t{i}")
        assert run_task(message, FakeEngine(error=error), svc) == "failed"  # no raise
        record = svc.tasks.get(f"t{i}", clock())
        assert record.status is TaskStatus.FAILED and record.attempt == 1
        assert record.error.startswith("Backtest failed: ")
        assert not CLASS_NAME.search(record.error), record.error


def test_given_an_overflow_then_the_message_keeps_its_reason(svc, clock):
    message = _queued(svc, clock)
    run_task(message, FakeEngine(error=OverflowError("date value out of range")), svc)
    assert svc.tasks.get("t1", clock()).error == (
        "Backtest failed: internal error while running the backtest (date value out of range)")


def test_given_a_throttled_engine_read_then_the_error_propagates_and_names_the_aws_code(
    svc, clock
):
    message = _queued(svc, clock)
    with pytest.raises(ClientError):
        run_task(message, FakeEngine(error=aws_error()), svc)
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.RUNNING
    assert record.last_error == "AWS GetObject failed: SlowDown (Please reduce your request rate)"


def test_given_a_message_that_is_not_a_job_but_names_a_task_then_that_task_fails_at_once(
    svc, clock
):
    _queued(svc, clock)
    assert handle_job('{"task_id": "t1", "owner": 7}', FakeEngine(), svc) == "failed"
    record = svc.tasks.get("t1", clock())
    assert (record.status, record.error) == (TaskStatus.FAILED, UNREADABLE)


def test_given_garbage_on_the_jobs_queue_then_it_is_consumed_without_a_retry(svc):
    engine = FakeEngine()
    for body in ["not json", "[]", '{"task_id": 5}', "{}", '"x"', "\x00" * 10]:
        assert handle_job(body, engine, svc) == "skipped", body
    assert engine.calls == 0


def test_given_a_non_transient_aws_error_outside_the_attempt_then_the_task_fails_at_once(
    svc, clock
):
    message = _queued(svc, clock)
    real_claim = svc.tasks.claim

    def denied(*args, **kwargs):
        raise aws_error("AccessDeniedException", "UpdateItem", 400, "not authorized")

    svc.tasks.claim = denied
    assert handle_job(message.model_dump_json(), FakeEngine(), svc) == "failed"
    svc.tasks.claim = real_claim
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.FAILED
    assert record.error == ("Backtest failed: AWS UpdateItem failed: AccessDeniedException "
                            "(not authorized)")


def test_given_a_transient_aws_error_outside_the_attempt_then_handle_job_raises_for_a_retry(
    svc, clock
):
    message = _queued(svc, clock)

    def throttled(*args, **kwargs):
        raise aws_error("ProvisionedThroughputExceededException", "UpdateItem", 400)

    svc.tasks.claim = throttled
    with pytest.raises(ClientError):
        handle_job(message.model_dump_json(), FakeEngine(), svc)
    assert svc.tasks.get("t1", clock()).status is TaskStatus.QUEUED
