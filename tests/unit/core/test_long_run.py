"""Long runs on Fargate: hand-off, lease watch, and the container's adopted attempt
(fake launcher and engine, real moto)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from backtest_core.errors import TransitionRefused
from backtest_core.launcher import EcsLauncher, LaunchFailed
from backtest_core.models import BacktestRequest, QueueMessage, TaskStatus, estimated_candles
from backtest_core.settings import Settings
from backtest_core.usecases.cancel import cancel
from backtest_core.usecases.long_run import (
    STOPPED_REASON,
    WATCH_DELAY_S,
    hand_off,
    run_adopted,
    watch,
)
from backtest_core.usecases.worker import process_message
from tests.unit.core.fakes import FakeEngine, aws_error

# 2 symbols × 366 days of 1h bars = 17,568 candles; 1d bars = 732.
LONG = BacktestRequest(strategy="volume_zone_breakout", symbols=["BTC_KRW", "ETH_KRW"],
                       start_date="2024-01-01", end_date="2024-12-31", timeframe="1h")
SHORT = LONG.model_copy(update={"timeframe": "1d"})
THRESHOLD = 10_000


class FakeLauncher:
    """Records launches; raises ``error`` instead when set."""

    def __init__(self, error: Exception | None = None):
        self.calls: list[tuple[str, int]] = []
        self.error = error

    def launch(self, task_id: str, attempt: int) -> str:
        if self.error:
            raise self.error
        self.calls.append((task_id, attempt))
        return f"arn:aws:ecs:us-east-1:123456789012:task/local/{task_id}-{attempt}"


@pytest.fixture
def launcher(svc) -> FakeLauncher:
    svc.launcher = FakeLauncher()
    svc.settings.fargate_min_candles = THRESHOLD
    return svc.launcher


def _queued(svc, clock, request=LONG, task_id="t1") -> QueueMessage:
    svc.tasks.create(task_id, "alice", request, clock())
    return QueueMessage(task_id=task_id, owner="alice", enqueued_at="2024-01-01T00:00:00.000Z")


def _watch(message: QueueMessage) -> QueueMessage:
    return message.model_copy(update={"kind": "watch"})


def _result_keys(aws) -> list[str]:
    s3 = aws.client("s3")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=aws.env["BUCKET"]).get("Contents", [])]


@pytest.fixture
def sent(svc) -> list[tuple[QueueMessage, int]]:
    """Messages the use cases send (after the real send to moto)."""
    calls: list[tuple[QueueMessage, int]] = []
    real = svc.queue.send

    def record(message: QueueMessage, delay_s: int = 0) -> str:
        calls.append((message, delay_s))
        return real(message, delay_s)

    svc.queue.send = record
    return calls


def test_given_the_requests_then_only_the_long_one_reaches_the_threshold():
    assert estimated_candles(LONG) == 17_568 >= THRESHOLD > estimated_candles(SHORT) == 732


def test_given_a_large_task_when_processed_then_it_is_handed_off_not_run_in_lambda(
    svc, clock, aws, launcher, sent
):
    message = _queued(svc, clock)
    engine = FakeEngine()
    assert process_message(message, engine, svc) == "handed_off"
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.RUNNING and record.attempt == 1
    assert record.lease_expires_at >= int(clock().timestamp()) + 600  # startup lease
    assert launcher.calls == [("t1", 1)]
    assert engine.calls == 0 and _result_keys(aws) == []
    assert [(m.kind, m.task_id, d) for m, d in sent] == [("watch", "t1", WATCH_DELAY_S)]
    attrs = aws.client("sqs").get_queue_attributes(
        QueueUrl=aws.queue_urls["JobsQueue"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"  # really delayed in SQS


def test_given_a_small_task_when_processed_then_it_still_runs_in_lambda(
    svc, clock, launcher, sent
):
    message = _queued(svc, clock, request=SHORT)
    assert process_message(message, FakeEngine(), svc) == "completed"
    assert launcher.calls == [] and sent == []


def test_given_fargate_disabled_when_a_large_task_is_processed_then_it_runs_in_lambda(svc, clock):
    assert svc.launcher is None and svc.settings.fargate_min_candles == 0
    message = _queued(svc, clock)
    assert process_message(message, FakeEngine(), svc) == "completed"


def test_given_a_redelivered_run_message_after_the_hand_off_then_nothing_is_relaunched(
    svc, clock, launcher
):
    message = _queued(svc, clock)
    assert process_message(message, FakeEngine(), svc) == "handed_off"
    clock.advance(seconds=120)
    assert process_message(message, FakeEngine(), svc) == "skipped"
    assert launcher.calls == [("t1", 1)]


def test_given_a_live_lease_when_watched_then_another_watch_is_queued(svc, clock, launcher, sent):
    message = _queued(svc, clock)
    hand_off(message, svc)
    sent.clear()
    clock.advance(seconds=300)
    assert process_message(_watch(message), FakeEngine(), svc) == "watching"
    assert [(m.kind, d) for m, d in sent] == [("watch", WATCH_DELAY_S)]
    assert launcher.calls == [("t1", 1)]


def test_given_an_expired_lease_when_watched_then_relaunched_as_the_next_attempt(
    svc, clock, launcher, sent
):
    message = _queued(svc, clock)
    hand_off(message, svc)
    sent.clear()
    clock.advance(seconds=WATCH_DELAY_S)  # the container never started: startup lease gone
    assert watch(_watch(message), svc) == "handed_off"
    assert launcher.calls == [("t1", 1), ("t1", 2)]
    assert svc.tasks.get("t1", clock()).attempt == 2
    assert [m.kind for m, _ in sent] == ["watch"]


def test_given_three_expired_attempts_when_watched_then_the_task_fails_with_the_reason(
    svc, clock, launcher
):
    message = _queued(svc, clock)
    hand_off(message, svc)
    for _ in range(2):
        clock.advance(seconds=WATCH_DELAY_S)
        assert watch(_watch(message), svc) == "handed_off"
    clock.advance(seconds=WATCH_DELAY_S)
    assert watch(_watch(message), svc) == "failed"
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.FAILED and len(launcher.calls) == 3
    assert record.error == f"Backtest failed after 3 attempts: {STOPPED_REASON}"
    assert watch(_watch(message), svc) == "skipped"  # terminal: the watch chain ends


def test_given_a_launch_failure_then_the_lease_is_released_and_the_error_raised(
    svc, clock, launcher, sent
):
    message = _queued(svc, clock)
    svc.launcher.error = LaunchFailed("ecs:RunTask failed: RESOURCE:MEMORY")
    with pytest.raises(LaunchFailed):
        process_message(message, FakeEngine(), svc)
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.RUNNING and record.lease_expires_at < clock().timestamp()
    assert "RESOURCE:MEMORY" in record.last_error
    assert [m.kind for m, _ in sent] == ["watch"]  # sent before the launch; harmless spare
    svc.launcher.error = None  # the redelivery takes over at once
    assert process_message(message, FakeEngine(), svc) == "handed_off"
    assert launcher.calls == [("t1", 2)]


def test_given_a_launch_refused_for_a_bad_configuration_then_the_task_fails_at_once(
    svc, clock, launcher
):
    message = _queued(svc, clock)
    svc.launcher.error = aws_error("InvalidParameterException", "RunTask", 400,
                                   "No Container Instances were found in your cluster.")
    assert process_message(message, FakeEngine(), svc) == "failed"  # no raise: no retry
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.FAILED
    assert record.error == ("Backtest failed: could not start the long run: AWS RunTask failed: "
                            "InvalidParameterException (No Container Instances were found in "
                            "your cluster.)")


def test_given_a_handed_off_attempt_when_the_container_runs_then_it_completes_once(
    svc, clock, aws, launcher
):
    message = _queued(svc, clock)
    hand_off(message, svc)
    engine = FakeEngine()
    assert run_adopted("t1", 1, engine, svc) == "completed"
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.COMPLETED and record.attempt == 1 and engine.calls == 1
    assert _result_keys(aws) == [record.result_key]
    assert run_adopted("t1", 1, FakeEngine(), svc) == "skipped"  # a second start is a no-op
    assert watch(_watch(message), svc) == "skipped"


def test_given_a_superseded_attempt_then_the_stale_container_cannot_run_or_complete(
    svc, clock, aws, launcher
):
    message = _queued(svc, clock)
    hand_off(message, svc)
    clock.advance(seconds=WATCH_DELAY_S)
    assert watch(_watch(message), svc) == "handed_off"  # attempt 2 launched
    stale = FakeEngine()
    assert run_adopted("t1", 1, stale, svc) == "skipped" and stale.calls == 0
    with pytest.raises(TransitionRefused):  # nor any conditional write of attempt 1
        svc.tasks.complete("t1", 1, "results/x.json", {}, clock())
    assert run_adopted("t1", 2, FakeEngine(), svc) == "completed"
    assert svc.tasks.get("t1", clock()).attempt == 2
    assert len(_result_keys(aws)) == 1


def test_given_a_cancel_while_the_container_runs_then_it_stops_and_writes_nothing(
    svc, clock, aws, launcher
):
    message = _queued(svc, clock)
    hand_off(message, svc)

    def cancel_at_step_2(i: int) -> None:
        if i == 2:
            cancel("t1", "alice", svc)

    engine = FakeEngine(steps=10, on_step=cancel_at_step_2)
    assert run_adopted("t1", 1, engine, svc) == "cancelled"
    assert engine.stopped_at == 2
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.CANCELLED and record.error == "Task cancelled by user"
    assert _result_keys(aws) == []
    assert watch(_watch(message), svc) == "skipped"


def test_given_a_transient_error_in_the_container_then_the_watch_relaunches_at_once(
    svc, clock, launcher
):
    message = _queued(svc, clock)
    hand_off(message, svc)
    with pytest.raises(ClientError):
        run_adopted("t1", 1, FakeEngine(error=aws_error()), svc)
    assert watch(_watch(message), svc) == "handed_off"  # no wait for the lease to run out
    assert launcher.calls == [("t1", 1), ("t1", 2)]


class FakeEcs:
    def __init__(self, response: dict):
        self.response = response
        self.kwargs: dict = {}

    def run_task(self, **kwargs):
        self.kwargs = kwargs
        return self.response


FARGATE_ENV = {"TASKS_TABLE": "t", "JOBS_QUEUE_URL": "q", "BUCKET": "b",
               "IDEMPOTENCY_TABLE": "i", "FARGATE_MIN_CANDLES": "2000000",
               "FARGATE_CLUSTER": "runner-cluster", "FARGATE_TASK_DEFINITION": "runner:3",
               "FARGATE_SUBNETS": "subnet-a, subnet-b", "FARGATE_SECURITY_GROUPS": "sg-1"}


def test_given_fargate_settings_then_the_ecs_launcher_runs_the_task_with_the_overrides():
    cfg = Settings.from_env(FARGATE_ENV)
    assert cfg.fargate_enabled and cfg.fargate_subnets == ["subnet-a", "subnet-b"]
    ecs = FakeEcs({"tasks": [{"taskArn": "arn:task/1"}], "failures": []})
    assert EcsLauncher(ecs, cfg).launch("t1", 2) == "arn:task/1"
    assert ecs.kwargs["cluster"] == "runner-cluster" and ecs.kwargs["launchType"] == "FARGATE"
    assert ecs.kwargs["taskDefinition"] == "runner:3"
    assert ecs.kwargs["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-1"],
        "assignPublicIp": "DISABLED"}
    (override,) = ecs.kwargs["overrides"]["containerOverrides"]
    assert override["name"] == "runner"
    assert override["environment"] == [{"name": "TASK_ID", "value": "t1"},
                                       {"name": "ATTEMPT", "value": "2"}]


def test_given_run_task_failures_then_the_ecs_launcher_raises_with_the_reason():
    cfg = Settings.from_env(FARGATE_ENV)
    ecs = FakeEcs({"tasks": [], "failures": [{"arn": "x", "reason": "RESOURCE:ENI"}]})
    with pytest.raises(LaunchFailed, match="RESOURCE:ENI"):
        EcsLauncher(ecs, cfg).launch("t1", 1)


def test_given_no_fargate_settings_then_it_is_disabled_by_default():
    cfg = Settings.from_env({k: v for k, v in FARGATE_ENV.items()
                             if not k.startswith("FARGATE")})
    assert not cfg.fargate_enabled and cfg.fargate_min_candles == 0


def test_given_an_old_message_body_without_kind_then_it_is_a_run_message():
    body = json.dumps({"task_id": "t1", "owner": "a", "enqueued_at": "x"})
    assert QueueMessage.model_validate_json(body).kind == "run"


def test_given_the_watch_cannot_be_sent_then_nothing_is_launched_and_the_lease_released(
    svc, clock, launcher
):
    message = _queued(svc, clock)
    real_send = svc.queue.send

    def broken(message, delay_s=0):
        raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")

    svc.queue.send = broken
    with pytest.raises(EndpointConnectionError):
        process_message(message, FakeEngine(), svc)
    assert launcher.calls == []
    record = svc.tasks.get("t1", clock())
    assert record.lease_expires_at < clock().timestamp()
    svc.queue.send = real_send  # the redelivery hands off with its watch
    assert process_message(message, FakeEngine(), svc) == "handed_off"
    assert launcher.calls == [("t1", 2)]


def test_given_a_dead_lettered_watch_while_the_container_is_alive_then_the_run_is_not_failed(
    svc, clock, launcher, sent
):
    from backtest_core.usecases.dead_letter import fail_dead_letter

    message = _queued(svc, clock)
    assert process_message(message, FakeEngine(), svc) == "handed_off"
    sent.clear()
    assert fail_dead_letter(_watch(message), 3, svc) is False
    assert svc.tasks.get("t1", clock()).status is TaskStatus.RUNNING
    assert [(m.kind, d) for m, d in sent] == [("watch", WATCH_DELAY_S)]
