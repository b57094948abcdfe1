"""The task lifecycle of docs/api.md on the Tasks table: every allowed transition, every refused one, TTL as gone."""

from __future__ import annotations

import pytest

from backtest_core.errors import TransitionRefused
from backtest_core.models import ALLOWED_TRANSITIONS, BacktestRequest, TaskStatus

REQUEST = BacktestRequest(strategy="volume_zone_breakout", symbols=["BTC_KRW"],
                          start_date="2024-01-01", end_date="2024-01-31")


def _in_state(svc, clock, status: TaskStatus, task_id: str = "t1"):
    """Drive a fresh task into ``status`` through the repository's own transitions."""
    record = svc.tasks.create(task_id, "alice", REQUEST, clock())
    if status is TaskStatus.QUEUED:
        return record
    record = svc.tasks.claim(task_id, clock(), 60)
    if status is TaskStatus.RUNNING:
        return record
    if status is TaskStatus.COMPLETED:
        return svc.tasks.complete(task_id, record.attempt, "results/t1.json", {"total_signals": 1},
                                  clock())
    if status is TaskStatus.FAILED:
        return svc.tasks.fail(task_id, "boom", clock())
    return svc.tasks.cancel(task_id, "alice", clock())


def _attempt(svc, clock, target: TaskStatus, attempt: int):
    if target is TaskStatus.RUNNING:
        return svc.tasks.claim("t1", clock(), 60)
    if target is TaskStatus.COMPLETED:
        return svc.tasks.complete("t1", attempt, "k", {}, clock())
    if target is TaskStatus.FAILED:
        return svc.tasks.fail("t1", "boom", clock())
    return svc.tasks.cancel("t1", "alice", clock())


TARGETS = [TaskStatus.RUNNING, TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED]


@pytest.mark.parametrize("source", list(TaskStatus))
@pytest.mark.parametrize("target", TARGETS)
def test_given_a_task_in_source_when_moving_to_target_then_only_the_lifecycle_table_allows_it(
    svc, clock, source, target
):
    record = _in_state(svc, clock, source)
    if source is TaskStatus.RUNNING and target is TaskStatus.RUNNING:
        clock.advance(seconds=61)  # running → running is a takeover after the lease expired
    allowed = target in ALLOWED_TRANSITIONS[source]
    if allowed:
        assert _attempt(svc, clock, target, record.attempt).status is target
    else:
        with pytest.raises(TransitionRefused) as refused:
            _attempt(svc, clock, target, record.attempt)
        assert refused.value.current.status is source
        assert svc.tasks.get("t1", clock()).status is source


def test_given_a_running_task_with_a_live_lease_when_claimed_again_then_refused(svc, clock):
    first = _in_state(svc, clock, TaskStatus.RUNNING)
    clock.advance(seconds=30)
    with pytest.raises(TransitionRefused):
        svc.tasks.claim("t1", clock(), 60)
    assert svc.tasks.get("t1", clock()).attempt == first.attempt == 1


def test_given_an_expired_lease_when_claimed_then_taken_over_and_the_old_attempt_is_fenced(
    svc, clock
):
    first = _in_state(svc, clock, TaskStatus.RUNNING)
    clock.advance(seconds=61)
    second = svc.tasks.claim("t1", clock(), 60)
    assert second.attempt == first.attempt + 1
    with pytest.raises(TransitionRefused):
        svc.tasks.complete("t1", first.attempt, "k", {}, clock())
    done = svc.tasks.complete("t1", second.attempt, "k", {"total_signals": 0}, clock())
    assert done.status is TaskStatus.COMPLETED and done.progress == 1.0


def test_given_progress_when_a_lower_value_is_written_then_it_is_refused(svc, clock):
    record = _in_state(svc, clock, TaskStatus.RUNNING)
    svc.tasks.progress("t1", record.attempt, 0.5, "running_strategy", 0, clock(), 60)
    with pytest.raises(TransitionRefused):
        svc.tasks.progress("t1", record.attempt, 0.4, "running_strategy", 0, clock(), 60)
    assert svc.tasks.get("t1", clock()).progress == 0.5


def test_given_a_record_past_expires_at_when_read_then_it_is_gone_although_stored(svc, clock):
    _in_state(svc, clock, TaskStatus.QUEUED)
    clock.advance(hours=169)
    assert svc.tasks.get("t1", clock()) is None
    with pytest.raises(TransitionRefused):
        svc.tasks.claim("t1", clock(), 60)


def test_given_a_terminal_write_then_the_ttl_is_renewed(svc, clock):
    created = _in_state(svc, clock, TaskStatus.QUEUED)
    clock.advance(hours=100)
    failed = svc.tasks.fail("t1", "boom", clock())
    assert failed.expires_at == created.expires_at + 100 * 3600
