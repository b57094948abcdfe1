"""The reaper against moto: expired leases re-queued or failed, lost messages re-sent once
per visibility period, all through the lease index (never a scan), all conditional."""

from __future__ import annotations

import json

import pytest

from backtest_core.models import BacktestRequest, TaskStatus
from backtest_core.usecases.reaper import reap, watch
from backtest_core.usecases.run_task import claim_attempt

REQUEST = BacktestRequest(strategy="volume_zone_breakout", symbols=["BTC_KRW"],
                          start_date="2024-01-01", end_date="2024-01-31")
LEASE_S = 60
VISIBILITY_S = 5400  # the template's (JOBS_VISIBILITY_TIMEOUT_S of every function)


def _messages(aws) -> list[dict]:
    sqs = aws.client("sqs")
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=aws.queue_urls["JobsQueue"], MaxNumberOfMessages=10,
                                  VisibilityTimeout=600).get("Messages", [])
        if not got:
            return out
        out += [json.loads(m["Body"]) for m in got]


def _running(svc, clock, task_id: str = "t1"):
    svc.tasks.create(task_id, "alice", REQUEST, clock())
    return svc.tasks.claim(task_id, clock(), LEASE_S)


@pytest.fixture(autouse=True)
def no_scans(svc, monkeypatch):
    """The reaper must query the lease index; a scan of the table fails the test."""
    def refuse(**kwargs):
        raise AssertionError(f"the reaper scanned: {kwargs}")

    monkeypatch.setattr(svc.tasks._ddb, "scan", refuse)


def test_given_a_running_task_with_a_live_lease_when_reaped_then_nothing_happens(aws, svc, clock):
    _running(svc, clock)
    _messages(aws)  # (none were sent: the repository does not enqueue)

    clock.advance(seconds=LEASE_S - 1)
    report = reap(svc)

    assert report.total == 0 and _messages(aws) == []


def test_given_an_expired_lease_when_reaped_then_resent_once_and_the_next_claim_is_attempt_2(
    aws, svc, clock
):
    _running(svc, clock)
    clock.advance(seconds=LEASE_S + 1)

    first = reap(svc)
    clock.advance(seconds=60)
    second = reap(svc)  # the message waits behind a backlog: no second copy this period

    assert (first.requeued, second.requeued) == (1, 0)
    assert [m["task_id"] for m in _messages(aws)] == ["t1"]
    record = claim_attempt("t1", svc)
    assert record is not None and record.attempt == 2 and record.status is TaskStatus.RUNNING


def test_given_an_expired_lease_after_a_visibility_period_when_reaped_then_resent_again(
    aws, svc, clock
):
    _running(svc, clock)
    clock.advance(seconds=LEASE_S + 1)
    reap(svc)
    _messages(aws)

    clock.advance(seconds=VISIBILITY_S)
    report = reap(svc)

    assert report.requeued == 1 and [m["task_id"] for m in _messages(aws)] == ["t1"]


def test_given_the_last_attempt_expired_when_reaped_then_failed_with_the_attempt_count(
    aws, svc, clock
):
    _running(svc, clock)
    for _ in range(2):  # attempts 2 and 3 die too
        clock.advance(seconds=LEASE_S + 1)
        svc.tasks.claim("t1", clock(), LEASE_S)
    clock.advance(seconds=LEASE_S + 1)

    report = reap(svc)

    record = svc.tasks.get("t1", clock())
    assert report.failed == 1 and record.status is TaskStatus.FAILED
    assert record.error == ("Backtest failed after 3 attempts: "
                            "the worker stopped without finishing")
    assert record.lease_expires_at is None and _messages(aws) == []
    assert reap(svc).total == 0  # terminal: out of the index for good


def test_given_a_heartbeat_between_query_and_write_when_failing_then_the_live_attempt_wins(
    svc, clock
):
    record = _running(svc, clock)
    clock.advance(seconds=LEASE_S + 1)

    svc.tasks.heartbeat("t1", record.attempt, clock(), LEASE_S)  # the worker was only slow
    from backtest_core.errors import TransitionRefused

    with pytest.raises(TransitionRefused):
        svc.tasks.fail_abandoned("t1", record.attempt, "x", clock())
    with pytest.raises(TransitionRefused):
        svc.tasks.mark_requeued("t1", record.attempt, clock(), 0)
    assert svc.tasks.get("t1", clock()).status is TaskStatus.RUNNING


def test_given_a_queued_task_whose_message_was_lost_when_reaped_then_resent_once_per_period(
    aws, svc, clock
):
    svc.tasks.create("q1", "bob", REQUEST, clock())  # the enqueue "timed out": no message

    clock.advance(seconds=VISIBILITY_S - 1)
    early = reap(svc)
    clock.advance(seconds=2)
    due = reap(svc)
    again = reap(svc)  # a second reaper right after (EventBridge may run two): no duplicate
    clock.advance(seconds=VISIBILITY_S + 1)
    next_period = reap(svc)

    assert (early.resent, due.resent, again.resent, next_period.resent) == (0, 1, 0, 1)
    assert [(m["task_id"], m["owner"]) for m in _messages(aws)] == [("q1", "bob"), ("q1", "bob")]
    assert svc.tasks.get("q1", clock()).status is TaskStatus.QUEUED


def test_given_a_healthy_backlog_when_reaped_every_minute_then_one_copy_per_task_and_period(
    aws, svc, clock
):
    for i in range(30):
        svc.tasks.create(f"b{i}", "bob", REQUEST, clock())

    resent = []
    for _ in range(VISIBILITY_S // 60 + 5):  # one visibility period and a bit, every minute
        clock.advance(seconds=60)
        resent.append(reap(svc).resent)

    assert sum(resent) == 30 and max(resent) == 30  # each task once, all in the same minute
    assert sorted(m["task_id"] for m in _messages(aws)) == sorted(f"b{i}" for i in range(30))


@pytest.mark.parametrize("end", ["completed", "failed", "cancelled"])
def test_given_terminal_tasks_when_reaped_then_they_are_not_in_the_lease_index(
    aws, svc, clock, end
):
    record = _running(svc, clock)
    if end == "completed":
        svc.tasks.complete("t1", record.attempt, "k", {"total_signals": 1}, clock())
    elif end == "failed":
        svc.tasks.fail("t1", "boom", clock())
    else:
        svc.tasks.cancel("t1", "alice", clock())
    clock.advance(seconds=VISIBILITY_S * 2)

    assert svc.tasks.unvouched(TaskStatus.RUNNING, clock(), 10) == []
    assert reap(svc).total == 0 and _messages(aws) == []


def test_given_a_transient_failure_when_reaped_during_its_backoff_then_left_to_sqs(
    aws, svc, clock
):
    record = _running(svc, clock)
    svc.tasks.release_lease("t1", record.attempt, clock(), "ThrottlingException: slow down")
    backoff_s = svc.settings.retry_backoff_s * record.attempt

    during = reap(svc)
    clock.advance(seconds=backoff_s + 2)  # the redelivery never came
    after = reap(svc)

    assert (during.requeued, after.requeued) == (0, 1)
    assert [m["task_id"] for m in _messages(aws)] == ["t1"]


def test_given_the_last_attempt_failed_transiently_when_reaped_then_its_error_is_kept(
    svc, clock
):
    _running(svc, clock)
    for _ in range(2):
        clock.advance(seconds=LEASE_S + 1)
        record = svc.tasks.claim("t1", clock(), LEASE_S)
    svc.tasks.release_lease("t1", record.attempt, clock(), "ThrottlingException: slow down")
    clock.advance(seconds=svc.settings.retry_backoff_s * 3 + 1)

    assert reap(svc).failed == 1
    assert svc.tasks.get("t1", clock()).error == (
        "Backtest failed after 3 attempts: ThrottlingException: slow down")


def test_given_an_expired_lease_when_reaped_then_status_says_retrying_until_attempt_2_moves_on(
    aws, svc, clock
):
    from backtest_core.usecases.query import status_view

    _running(svc, clock)
    svc.tasks.progress("t1", 1, 0.4, "running_strategy", 0, clock(), LEASE_S)
    clock.advance(seconds=LEASE_S + 1)

    reap(svc)
    requeued = status_view(svc.tasks.get("t1", clock()))
    claimed = claim_attempt("t1", svc)

    assert (requeued.stage, requeued.attempt) == ("retrying", 1)
    assert claimed is not None and claimed.attempt == 2
    assert (status_view(claimed).stage, status_view(claimed).attempt) == ("retrying", 2)


# --- watch: the reaper's invocation keeps watching running leases (docs/operations.md) ----

def _sleeper(clock, slept: list[float]):
    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds=seconds)
    return sleep


def test_given_nothing_running_when_watched_then_it_looks_every_lease_until_the_deadline(
    aws, svc, clock
):
    slept: list[float] = []

    report = watch(svc, 55, sleep=_sleeper(clock, slept))

    lease_s = svc.settings.lease_seconds
    assert report.total == 0 and slept and max(slept) <= lease_s and sum(slept) <= 55
    assert sum(slept) > 55 - 1  # it watched to the end of its budget


def test_given_a_task_claimed_while_idle_and_killed_at_once_when_watched_then_resent_after_its_lease(
    aws, svc, clock
):
    """The worst case: nothing runs at the tick, a task is claimed right after it and its
    worker dies at once. It is seen on the next idle look, before its lease can expire."""
    slept: list[float] = []
    sleep = _sleeper(clock, slept)
    claimed: list = []

    def claim_during_the_first_sleep(seconds: float) -> None:
        if not claimed:
            clock.advance(seconds=0.5)
            claimed.append(_running(svc, clock))
            clock.advance(seconds=-0.5)
        sleep(seconds)

    report = watch(svc, LEASE_S * 2, sleep=claim_during_the_first_sleep)

    assert report.requeued == 1
    lease = claimed[0].lease_expires_at
    requeued_at = svc.tasks.get("t1", clock()).requeued_at
    assert lease < requeued_at <= lease + 2


def test_given_a_worker_that_stops_heartbeating_when_watched_then_resent_about_one_s_after_its_lease(
    aws, svc, clock
):
    record = _running(svc, clock)
    lease = record.lease_expires_at
    slept: list[float] = []

    report = watch(svc, LEASE_S + 30, sleep=_sleeper(clock, slept))

    assert report.requeued == 1
    assert [m["task_id"] for m in _messages(aws)] == ["t1"]
    # Re-sent just past the lease (not at the next scheduled minute).
    assert lease < svc.tasks.get("t1", clock()).requeued_at <= lease + 2


def test_given_a_lease_beyond_the_watch_when_watched_then_it_ends_at_its_deadline(
    aws, svc, clock
):
    _running(svc, clock)  # expires in LEASE_S = 60 s > the 30 s watch
    slept: list[float] = []

    report = watch(svc, 30, sleep=_sleeper(clock, slept))

    assert report.total == 0 and _messages(aws) == [] and sum(slept) <= 30


def test_given_heartbeats_when_watched_then_it_follows_the_renewed_lease_and_never_resends(
    aws, svc, clock
):
    record = _running(svc, clock)
    slept: list[float] = []
    sleep = _sleeper(clock, slept)

    def heartbeat_then_sleep(seconds: float) -> None:
        # A healthy worker renews halfway through the reaper's sleep, twice; then it dies.
        if len(slept) < 2:
            clock.advance(seconds=seconds / 2)
            svc.tasks.heartbeat(record.task_id, record.attempt, clock(), LEASE_S)
            clock.advance(seconds=-seconds / 2)
        sleep(seconds)

    report = watch(svc, 150, sleep=heartbeat_then_sleep)

    assert report.requeued == 1  # resent only after the renewals stopped
    assert svc.tasks.get("t1", clock()).requeued_at > record.lease_expires_at + LEASE_S
