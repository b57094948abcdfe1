"""Queue → worker → DLQ with the real functions, the real engine and moto's real SQS redrive.

Deliveries are driven by hand here (receive, invoke, delete unless reported failed), exactly
as Lambda's event source mapping does; the local stack's dispatcher does the same in a loop.
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROOT

BODY = {"strategy": "volume_zone_breakout", "params": {}, "symbols": ["BTC_KRW", "DOGE_KRW"],
        "start_date": "2024-01-01", "end_date": "2024-12-31", "timeframe": "1d"}


@pytest.fixture
def stack(aws, api):
    from infra.local.demo_data import seed
    from infra.local.dispatcher import sqs_record
    from infra.local.functions import load_function
    from infra.local.template_model import build_model

    seed(aws.client("s3"), aws.env["BUCKET"], aws.env["DATA_PREFIX"])
    model = build_model(ROOT / "template.yaml", "https://sqs.us-east-1.amazonaws.com")
    fns = {f.logical_id: load_function(f, "us-east-1") for f in model.functions
           if f.logical_id in ("WorkerFunction", "DlqFunction")}
    sqs = aws.client("sqs")

    def deliver(queue: str, function: str, wait_s: float = 10.0) -> list[str]:
        """Receive one batch (deadline poll) and invoke; returns the failed message ids."""
        url = aws.queue_urls[queue]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1,
                                       VisibilityTimeout=1, AttributeNames=["All"])
            if resp.get("Messages"):
                msg = resp["Messages"][0]
                out = fns[function].invoke({"Records": [sqs_record(msg, arn, "us-east-1")]})
                failed = [f["itemIdentifier"] for f in out["batchItemFailures"]]
                if not failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
                return failed
        raise AssertionError(f"no message on {queue} within {wait_s}s")

    def redrive_due(deadline_s: float = 10.0) -> None:
        """Receive on the jobs queue until SQS moves the message to the DLQ (moto does it on
        the receive after maxReceiveCount; AWS does it on its own)."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            resp = sqs.receive_message(QueueUrl=aws.queue_urls["JobsQueue"], WaitTimeSeconds=1)
            assert not resp.get("Messages"), "delivered again after maxReceiveCount"
            attrs = sqs.get_queue_attributes(QueueUrl=aws.queue_urls["JobsDeadLetterQueue"],
                                             AttributeNames=["ApproximateNumberOfMessages"])
            if attrs["Attributes"]["ApproximateNumberOfMessages"] == "1":
                return
        raise AssertionError("message never reached the DLQ")

    deliver.redrive_due = redrive_due
    return deliver


def test_given_a_submitted_backtest_when_the_worker_runs_then_completed_and_result_readable(
    api, stack
):
    task_id = api.call("POST", "/api/backtests/run-async", BODY).body["task_id"]
    assert stack("JobsQueue", "WorkerFunction") == []
    status = api.call("GET", f"/api/backtests/status/{task_id}").body
    assert status["status"] == "completed" and status["progress"] == 1.0, status
    result = status["result"]
    assert result["version"] == "1.3.0" and result["run_id"] == task_id
    assert [s["symbol"] for s in result["symbols"]] == ["BTC_KRW"]
    assert result["failed_symbols"] == [{"symbol": "DOGE_KRW",
                                         "reason": "No data files for DOGE_KRW at 1d"}]
    assert "synthetic" in result["symbols"][0]["data"]["source"]
    assert result["total_signals"] == sum(len(s["signals"]) for s in result["symbols"])
    assert api.call("GET", f"/api/backtests/{task_id}").body == result
    download = api.call("GET", f"/api/backtests/{task_id}/download")
    assert download.headers["content-disposition"] == (
        f'attachment; filename="backtest_{task_id}.json"')
    assert download.body == result
    history = api.call("GET", "/api/backtests/history").body["items"][0]
    assert history["total_signals"] == result["total_signals"]


def test_given_a_task_without_any_data_then_it_fails_at_once_with_the_specs_message(api, stack):
    body = {**BODY, "symbols": ["BTC_KRW"], "start_date": "2030-01-01",
            "end_date": "2030-01-31"}  # stored at 1d, but not in this window
    task_id = api.call("POST", "/api/backtests/run-async", body).body["task_id"]
    assert stack("JobsQueue", "WorkerFunction") == []  # permanent: acknowledged, not retried
    status = api.call("GET", f"/api/backtests/status/{task_id}").body
    assert status["status"] == "failed"
    assert status["error"] == (
        "No data found for symbols ['BTC_KRW'] in range 2030-01-01 ~ 2030-01-31")


def test_given_symbols_none_stored_at_the_timeframe_when_submitted_then_422_and_nothing_runs(
        api, stack, aws):
    reply = api.call("POST", "/api/backtests/run-async",
                     {**BODY, "symbols": ["ETH_KRW", "DOGE_KRW"], "timeframe": "15m"})

    assert reply.status == 422, reply.body
    assert reply.body["detail"][0]["loc"] == ["body", "timeframe"]
    assert "stored timeframes: ETH_KRW: 1h, 1d; DOGE_KRW: none" in reply.body["detail"][0]["msg"]
    queued = aws.client("sqs").receive_message(QueueUrl=aws.queue_urls["JobsQueue"])
    assert queued.get("Messages", []) == []


def test_given_a_poison_message_then_three_deliveries_then_dlq_then_failed_with_reason(
    api, stack, monkeypatch
):
    from backtest_core.storage import S3CandleReader

    def throttled(self, key):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your rate"}},
                          "GetObject")

    monkeypatch.setattr(S3CandleReader, "get", throttled)
    task_id = api.call("POST", "/api/backtests/run-async", BODY).body["task_id"]
    for _ in range(3):  # maxReceiveCount 3 in template.yaml
        assert len(stack("JobsQueue", "WorkerFunction")) == 1
        assert api.call("GET", f"/api/backtests/status/{task_id}").body["status"] == "running"
    stack.redrive_due()
    assert stack("JobsDeadLetterQueue", "DlqFunction") == []
    status = api.call("GET", f"/api/backtests/status/{task_id}").body
    assert status["status"] == "failed"
    assert status["error"] == ("Backtest failed after 3 attempts: AWS GetObject failed: "
                               "SlowDown (Please reduce your rate)")


def test_given_garbage_on_the_jobs_queue_then_the_worker_consumes_it_once_without_a_retry(
    aws, stack
):
    sqs = aws.client("sqs")
    sqs.send_message(QueueUrl=aws.queue_urls["JobsQueue"], MessageBody="not a job {")
    assert stack("JobsQueue", "WorkerFunction") == []  # permanent: acknowledged
    resp = sqs.receive_message(QueueUrl=aws.queue_urls["JobsQueue"], WaitTimeSeconds=2)
    assert not resp.get("Messages"), "an unreadable message came back"


def test_given_a_malformed_message_naming_a_task_then_that_task_fails_at_once(aws, api, stack):
    from backtest_core.usecases.jobs import UNREADABLE

    task_id = api.call("POST", "/api/backtests/run-async", BODY).body["task_id"]
    sqs = aws.client("sqs")
    queued = sqs.receive_message(QueueUrl=aws.queue_urls["JobsQueue"], WaitTimeSeconds=2)
    sqs.delete_message(QueueUrl=aws.queue_urls["JobsQueue"],
                       ReceiptHandle=queued["Messages"][0]["ReceiptHandle"])
    sqs.send_message(QueueUrl=aws.queue_urls["JobsQueue"],
                     MessageBody=f'{{"task_id": "{task_id}", "kind": "explode"}}')
    assert stack("JobsQueue", "WorkerFunction") == []
    status = api.call("GET", f"/api/backtests/status/{task_id}").body
    assert (status["status"], status["error"]) == ("failed", UNREADABLE)


def test_given_a_bug_in_the_engine_then_the_task_fails_after_one_delivery_in_plain_words(
    api, stack, monkeypatch
):
    from backtest_engine import adapter

    def crash(*args, **kwargs):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(adapter, "run_backtest", crash)
    monkeypatch.setattr(adapter, "run_by_symbol", crash)  # two symbols run one at a time
    task_id = api.call("POST", "/api/backtests/run-async", BODY).body["task_id"]
    assert stack("JobsQueue", "WorkerFunction") == []  # permanent: no redelivery, no DLQ
    status = api.call("GET", f"/api/backtests/status/{task_id}").body
    assert status["status"] == "failed"
    assert status["error"] == ("Backtest failed: internal error while running the backtest "
                               "(date value out of range)")
    assert "OverflowError" not in status["error"]
