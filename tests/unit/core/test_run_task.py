"""run_task under at-least-once delivery, cancels and crashes (fake engine, real moto)."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError

from backtest_core.errors import PermanentTaskError
from backtest_core.models import BacktestRequest, QueueMessage, TaskStatus
from backtest_core.usecases.cancel import cancel
from backtest_core.usecases.dead_letter import fail_dead_letter
from backtest_core.usecases.run_task import run_task
from tests.unit.core.fakes import FakeEngine, aws_error

THROTTLED = "AWS GetObject failed: SlowDown (Please reduce your request rate)"
REQUEST = BacktestRequest(strategy="volume_zone_breakout", symbols=["BTC_KRW", "ETH_KRW"],
                          start_date="2024-01-01", end_date="2024-12-31")


def _queued(svc, clock, task_id="t1") -> QueueMessage:
    svc.tasks.create(task_id, "alice", REQUEST, clock())
    return QueueMessage(task_id=task_id, owner="alice", enqueued_at="2024-01-01T00:00:00.000Z")


def _result_keys(aws) -> list[str]:
    s3 = aws.client("s3")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=aws.env["BUCKET"]).get("Contents", [])]


def test_given_a_queued_task_when_run_then_completed_with_result_and_summary(svc, clock, aws):
    message = _queued(svc, clock)
    assert run_task(message, FakeEngine(), svc) == "completed"
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.COMPLETED and record.progress == 1.0
    assert record.summary.total_signals == 3 and record.symbols_done == 2
    assert _result_keys(aws) == [record.result_key]


def test_given_a_running_task_with_a_live_lease_when_redelivered_then_nothing_happens(svc, clock):
    message = _queued(svc, clock)
    svc.tasks.claim("t1", clock(), 60)
    engine = FakeEngine()
    assert run_task(message, engine, svc) == "skipped"
    assert engine.calls == 0
    assert svc.tasks.get("t1", clock()).attempt == 1


def test_given_an_expired_lease_when_redelivered_then_taken_over_and_completed_once(svc, clock):
    message = _queued(svc, clock)
    stale = svc.tasks.claim("t1", clock(), 60)
    clock.advance(seconds=120)
    assert run_task(message, FakeEngine(), svc) == "completed"
    record = svc.tasks.get("t1", clock())
    assert record.attempt == stale.attempt + 1 and record.status is TaskStatus.COMPLETED
    assert run_task(message, FakeEngine(), svc) == "skipped"  # a third delivery changes nothing


def test_given_a_cancel_while_queued_when_the_message_arrives_then_the_task_never_runs(svc, clock):
    message = _queued(svc, clock)
    cancel("t1", "alice", svc)
    engine = FakeEngine()
    assert run_task(message, engine, svc) == "skipped"
    assert engine.calls == 0
    assert svc.tasks.get("t1", clock()).status is TaskStatus.CANCELLED


def test_given_a_cancel_while_running_then_the_worker_stops_at_its_next_check_and_writes_nothing(
    svc, clock, aws
):
    message = _queued(svc, clock)

    def cancel_at_step_2(i: int) -> None:
        if i == 2:
            cancel("t1", "alice", svc)

    engine = FakeEngine(steps=10, on_step=cancel_at_step_2)
    assert run_task(message, engine, svc) == "cancelled"
    assert engine.stopped_at == 2
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.CANCELLED and record.error == "Task cancelled by user"
    assert record.result_key is None and _result_keys(aws) == []


def test_given_a_worker_that_finishes_after_a_cancel_then_it_cannot_overwrite_it(svc, clock, aws):
    message = _queued(svc, clock)

    def cancel_after_last_progress(i: int) -> None:
        if i == 4:  # the last step: the engine will not poll again before returning
            svc.settings.progress_interval_s = 3600  # so the final write is throttled away
            cancel("t1", "alice", svc)

    engine = FakeEngine(steps=5, on_step=cancel_after_last_progress)
    assert run_task(message, engine, svc) == "cancelled"
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.CANCELLED and record.progress < 1.0
    assert _result_keys(aws) == []


def test_given_a_permanent_error_then_the_task_fails_at_once_with_the_message(svc, clock):
    message = _queued(svc, clock)
    engine = FakeEngine(error=PermanentTaskError("No data found for symbols ['BTC_KRW']"))
    assert run_task(message, engine, svc) == "failed"
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.FAILED and "No data found" in record.error


def test_given_a_transient_error_then_it_propagates_and_the_next_delivery_takes_over(svc, clock):
    message = _queued(svc, clock)
    with pytest.raises(ClientError):
        run_task(message, FakeEngine(error=aws_error()), svc)
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.RUNNING and record.last_error == THROTTLED
    assert run_task(message, FakeEngine(), svc) == "completed"
    assert svc.tasks.get("t1", clock()).attempt == 2


def test_given_repeated_transient_errors_when_dead_lettered_then_failed_with_attempts(svc, clock):
    message = _queued(svc, clock)
    for _ in range(3):
        with pytest.raises(ClientError):
            run_task(message, FakeEngine(error=aws_error()), svc)
    assert fail_dead_letter(message, 3, svc) is True
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.FAILED
    assert record.error == f"Backtest failed after 3 attempts: {THROTTLED}"
    assert fail_dead_letter(message, 3, svc) is False  # terminal stays terminal


def test_given_progress_reports_then_stored_progress_is_monotonic(svc, clock):
    message = _queued(svc, clock)
    seen: list[float] = []

    def record_progress(i: int) -> None:
        seen.append(svc.tasks.get("t1", clock()).progress)

    run_task(message, FakeEngine(steps=6, on_step=record_progress), svc)
    assert seen == sorted(seen) and seen[-1] > seen[0]


def test_given_a_stale_attempt_finishing_after_a_takeover_then_the_winners_result_survives(
    svc, clock, aws
):
    message = _queued(svc, clock)
    stale = svc.tasks.claim("t1", clock(), 60)
    clock.advance(seconds=120)
    assert run_task(message, FakeEngine(), svc) == "completed"  # attempt 2 wins
    from backtest_core.usecases.run_task import _complete

    assert _complete(stale, {"symbols": [], "total_signals": 99}, svc, 1.0) == "lease_lost"
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.COMPLETED and record.attempt == 2
    assert _result_keys(aws) == [record.result_key]
    assert b'"total_signals":3' in svc.results.get_bytes(record.result_key)


def test_given_a_cancel_during_the_result_upload_then_the_upload_is_removed(svc, clock, aws):
    message = _queued(svc, clock)
    real_put = svc.results.put

    def put_then_cancel(task_id, attempt, document):
        stored = real_put(task_id, attempt, document)
        cancel("t1", "alice", svc)
        return stored

    svc.results.put = put_then_cancel
    assert run_task(message, FakeEngine(), svc) == "cancelled"
    assert svc.tasks.get("t1", clock()).status is TaskStatus.CANCELLED
    assert _result_keys(aws) == []


def test_given_a_throttled_heartbeat_then_the_thread_keeps_renewing_the_lease(svc, clock):
    from botocore.exceptions import ClientError

    from backtest_core.usecases.progress import AttemptControl

    message = _queued(svc, clock)
    record = svc.tasks.claim(message.task_id, clock(), 60)
    svc.settings.lease_seconds = 5  # heartbeat every ~1.7 s
    calls: list[str] = []
    second_beat = threading.Event()
    real = svc.tasks.heartbeat

    def flaky(*args, **kwargs):
        calls.append("beat")
        if len(calls) >= 2:
            second_beat.set()
        if len(calls) == 1:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}},
                              "UpdateItem")
        return real(*args, **kwargs)

    svc.tasks.heartbeat = flaky
    with AttemptControl(svc, record) as control:
        assert second_beat.wait(timeout=10), "the heartbeat thread died after one error"
        assert control._thread.is_alive()
    assert len(calls) >= 2


def test_given_a_takeover_then_stage_and_symbols_done_never_go_backwards(svc, clock):
    message = _queued(svc, clock)
    first = svc.tasks.claim("t1", clock(), 60)
    svc.tasks.progress("t1", first.attempt, 0.6, "running_strategy", 1, clock(), 60)
    clock.advance(seconds=120)
    seen: list[tuple[float, str, int]] = []

    def watch(i: int) -> None:
        r = svc.tasks.get("t1", clock())
        seen.append((r.progress, r.stage, r.symbols_done))

    assert run_task(message, FakeEngine(steps=6, on_step=watch), svc) == "completed"
    assert seen[0] == (0.6, "running_strategy", 1)
    assert all(p >= 0.6 and d >= 1 for p, _, d in seen)
    final = svc.tasks.get("t1", clock())
    assert (final.progress, final.stage) == (1.0, "completed")


def test_given_a_transient_error_while_saving_then_the_lease_is_released_for_the_retry(
    svc, clock, aws
):
    message = _queued(svc, clock)
    real_put = svc.results.put
    failures = iter([aws_error(operation="PutObject")])

    def flaky_put(task_id, attempt, document):
        for error in failures:
            raise error
        return real_put(task_id, attempt, document)

    svc.results.put = flaky_put
    with pytest.raises(ClientError):
        run_task(message, FakeEngine(), svc)
    record = svc.tasks.get("t1", clock())
    assert record.status is TaskStatus.RUNNING
    assert record.lease_expires_at < clock().timestamp()
    assert record.last_error == "AWS PutObject failed: SlowDown (Please reduce your request rate)"
    assert run_task(message, FakeEngine(), svc) == "completed"  # not skipped
    assert svc.tasks.get("t1", clock()).last_error is None


def test_given_a_finished_symbol_then_it_is_written_at_once_despite_the_interval(svc, clock):
    from backtest_core.usecases.progress import AttemptControl

    svc.settings.progress_interval_s = 3600.0  # only stage and symbol changes get through
    _queued(svc, clock)
    record = svc.tasks.claim("t1", clock(), 60)
    with AttemptControl(svc, record) as control:
        control.report(0.1, "running_strategy", 0)
        control.report(0.15, "running_strategy", 0)  # throttled
        assert svc.tasks.get("t1", clock()).progress == 0.1
        control.report(0.2, "running_strategy", 1)  # a symbol finished: written now
        current = svc.tasks.get("t1", clock())
        assert (current.progress, current.symbols_done) == (0.2, 1)
        control.report(0.9, "saving_results")  # None keeps the count
        assert svc.tasks.get("t1", clock()).symbols_done == 1


def test_given_a_dead_lettered_duplicate_while_an_attempt_is_alive_then_the_task_goes_on(
    svc, clock
):
    """A re-sent or slow-started delivery can reach the DLQ while another attempt runs
    with a live lease: failing the task then would fail a healthy run."""
    message = _queued(svc, clock)
    svc.tasks.claim("t1", clock(), 60)
    clock.advance(seconds=30)

    assert fail_dead_letter(message, 3, svc) is False
    assert svc.tasks.get("t1", clock()).status is TaskStatus.RUNNING

    clock.advance(seconds=31)  # the attempt stopped heartbeating: now the DLQ fails it
    assert fail_dead_letter(message, 3, svc) is True
    assert svc.tasks.get("t1", clock()).status is TaskStatus.FAILED
