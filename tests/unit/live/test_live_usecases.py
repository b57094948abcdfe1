"""backtest_core.live against moto (in-process) with a recording poster."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from backtest_core.errors import TaskNotFound
from backtest_core.live.connections import ConnectionRepository
from backtest_core.live.poster import ConnectionGone
from backtest_core.live.settings import LiveSettings
from backtest_core.live.usecases import (
    LiveServices,
    NotYetConnected,
    connect,
    deliver,
    disconnect,
    on_new_connection,
    on_task_image,
)
from backtest_core.models import BacktestRequest

ROOT = Path(__file__).resolve().parents[3]
REQUEST = BacktestRequest(strategy="volume_zone_breakout", symbols=["BTC_KRW", "ETH_KRW"],
                          start_date="2024-01-01", end_date="2024-01-31")


class RecordingPoster:
    def __init__(self):
        self.posts: list[tuple[str, dict]] = []
        self.closed: list[str] = []
        self.gone: set[str] = set()

    def post(self, connection_id: str, data: bytes) -> None:
        import json

        if connection_id in self.gone:
            raise ConnectionGone(connection_id)
        self.posts.append((connection_id, json.loads(data)))

    def close(self, connection_id: str) -> None:
        self.closed.append(connection_id)

    def seqs(self, connection_id: str) -> list[tuple[int, str, float]]:
        return [(m["seq"], m["status"], m["progress"]) for c, m in self.posts
                if c == connection_id]


@pytest.fixture
def live(svc, clock):
    import boto3

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    cfg = LiveSettings.from_env(os.environ)
    return LiveServices(settings=cfg, tasks=svc.tasks,
                        connections=ConnectionRepository(ddb, cfg.connections_table),
                        poster=RecordingPoster(), clock=clock)


def raw_item(svc, task_id: str) -> dict:
    return svc.tasks._ddb.get_item(TableName=svc.tasks._table,
                                   Key={"task_id": {"S": task_id}})["Item"]


def test_given_someone_elses_or_no_task_when_connecting_then_task_not_found(svc, live, clock):
    svc.tasks.create("t1", "alice", REQUEST, clock())
    with pytest.raises(TaskNotFound, match="Task not found: t1"):
        connect("t1", "bob", "c1", live)
    with pytest.raises(TaskNotFound, match="Task not found: nope"):
        connect("nope", "alice", "c1", live)
    assert live.connections.get("c1", clock().timestamp()) is None


def test_given_a_run_then_snapshot_changes_and_terminal_arrive_once_in_order(svc, live, clock):
    svc.tasks.create("t1", "alice", REQUEST, clock())
    connect("t1", "alice", "c1", live)
    on_new_connection("c1", live)
    claimed = svc.tasks.claim("t1", clock(), 60)
    stale = raw_item(svc, "t1")
    on_task_image(stale, live)
    svc.tasks.progress("t1", claimed.attempt, 0.3, "running_strategy", 1, clock(), 60)
    on_task_image(raw_item(svc, "t1"), live)
    on_task_image(stale, live)  # an older image arriving late is not news
    svc.tasks.progress("t1", claimed.attempt, 0.305, "running_strategy", 1, clock(), 60)
    assert on_task_image(raw_item(svc, "t1"), live) == 0  # < 0.01 and nothing else changed
    svc.tasks.complete("t1", claimed.attempt, "k", {}, clock())
    on_task_image(raw_item(svc, "t1"), live)
    on_task_image(raw_item(svc, "t1"), live)  # redelivered: nothing after the terminal one
    poster: RecordingPoster = live.poster
    assert poster.seqs("c1") == [(1, "queued", 0.0), (2, "running", 0.0),
                                 (3, "running", 0.3), (4, "completed", 1.0)]
    assert poster.posts[-1][1]["stage"] == "completed"
    assert poster.closed == ["c1"]
    assert live.connections.get("c1", clock().timestamp()) is None


def test_given_a_delivery_holding_the_lock_then_another_leaves_it_the_news(svc, live, clock):
    svc.tasks.create("t1", "alice", REQUEST, clock())
    connect("t1", "alice", "c1", live)
    on_new_connection("c1", live)
    assert live.connections.lock("c1", clock().timestamp(), 10) is not None  # "in flight"
    svc.tasks.cancel("t1", "alice", clock())
    on_task_image(raw_item(svc, "t1"), live)
    assert live.poster.seqs("c1") == [(1, "queued", 0.0)]  # left to the holder
    live.connections.unlock("c1")  # the holder releases, then re-checks:
    deliver("c1", live)
    assert live.poster.seqs("c1")[-1] == (2, "cancelled", 0.0)


def test_given_a_gone_client_then_its_connection_is_deleted(svc, live, clock):
    svc.tasks.create("t1", "alice", REQUEST, clock())
    connect("t1", "alice", "c1", live)
    live.poster.gone.add("c1")
    with pytest.raises(NotYetConnected):  # moments after $connect: the stream retries
        on_new_connection("c1", live)
    assert live.connections.get("c1", clock().timestamp()) is not None
    clock.advance(seconds=30)
    on_new_connection("c1", live)
    assert live.connections.get("c1", clock().timestamp()) is None


def test_given_disconnect_then_the_item_is_gone_and_nothing_is_posted(svc, live, clock):
    svc.tasks.create("t1", "alice", REQUEST, clock())
    connect("t1", "alice", "c1", live)
    disconnect("c1", live)
    on_new_connection("c1", live)
    assert live.poster.posts == []


def test_given_the_push_function_then_a_failing_record_is_reported_by_sequence(
        svc, live, clock, monkeypatch):
    sys.path.insert(0, str(ROOT / "functions" / "ws_push"))
    try:
        import app as push_app
    finally:
        sys.path.remove(str(ROOT / "functions" / "ws_push"))
    sys.modules.pop("app", None)
    monkeypatch.setattr(push_app, "services", lambda: live)
    svc.tasks.create("t1", "alice", REQUEST, clock())
    connect("t1", "alice", "c1", live)
    live.poster.gone.add("c1")
    event = {"Records": [
        {"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
         "dynamodb": {"Keys": {"connection_id": {"S": "c1"}}, "SequenceNumber": "111"}},
        {"eventID": "2", "eventName": "MODIFY", "eventSource": "aws:dynamodb",
         "dynamodb": {"Keys": {"task_id": {"S": "t1"}}, "NewImage": raw_item(svc, "t1"),
                      "SequenceNumber": "112"}},
    ]}

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "push", 128, "r"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:push"

    assert push_app.lambda_handler(event, Context()) == {
        "batchItemFailures": [{"itemIdentifier": "111"}]}
