"""Task items go through boto3's TypeSerializer/TypeDeserializer: no field is dropped."""

from __future__ import annotations

from backtest_core.items import from_item, to_item
from backtest_core.models import BacktestRequest, TaskRecord, TaskStatus

REQUEST = BacktestRequest(strategy="volume_zone_breakout", symbols=["BTC_KRW", "ETH_KRW"],
                          start_date="2024-01-01", end_date="2024-01-31", fee_bps=2.5,
                          params={"volume_window": 20, "ratio": 1.0, "nested": {"a": [1, 2.5]}})


def test_given_a_record_with_map_and_list_fields_when_stored_and_read_then_nothing_is_lost(
    svc, clock
):
    record = svc.tasks.create("t1", "alice", REQUEST, clock())
    claimed = svc.tasks.claim("t1", clock(), 60)
    summary = {"total_signals": 3, "symbols": ["BTC_KRW", "ETH_KRW"], "failed_symbols": [],
               "candles": 62, "execution_time": 0.125, "result_bytes": 900}

    svc.tasks.complete("t1", claimed.attempt, "results/t1/1.json", summary, clock())

    raw = svc.tasks._ddb.get_item(TableName=svc.settings.tasks_table,
                                  Key={"task_id": {"S": "t1"}})["Item"]
    assert raw["summary"]["M"]["symbols"] == {"L": [{"S": "BTC_KRW"}, {"S": "ETH_KRW"}]}
    stored = svc.tasks.get("t1", clock())
    assert stored.summary.model_dump() == summary
    assert stored.request == REQUEST and stored.request.params["ratio"] == 1.0
    assert isinstance(stored.request.params["ratio"], float)  # request JSON round-trips exactly
    assert stored.status is TaskStatus.COMPLETED and stored.created_at == record.created_at


def test_given_every_field_when_converted_to_an_item_and_back_then_equal() -> None:
    record = TaskRecord(
        task_id="t", owner="o", status=TaskStatus.RUNNING, request=REQUEST,
        created_at="2024-01-01T00:00:00.000Z", updated_at="2024-01-01T00:00:01.000Z",
        expires_at=1_800_000_000, progress=0.25, stage="running_strategy", attempt=2,
        lease_expires_at=1_700_000_060, requeued_at=1_700_000_000, started_at="s",
        last_error="e", symbols_total=2, symbols_done=1,
        summary={"total_signals": 0, "symbols": ["BTC_KRW"], "execution_time": 1.5},
        shards_total=4, shards_done=1, shard_size=8, execution_arn="arn:x",
    )

    item = to_item(record)

    assert set(item) == set(record.model_dump(exclude_none=True))  # nothing dropped
    assert from_item(item) == record


def test_given_an_item_written_with_a_json_summary_when_read_then_still_parsed() -> None:
    item = to_item(TaskRecord(task_id="t", owner="o", status=TaskStatus.COMPLETED,
                               request=REQUEST, created_at="c", updated_at="u", expires_at=1))
    item["summary"] = {"S": '{"total_signals": 4}'}  # the format of earlier versions

    assert from_item(item).summary.total_signals == 4
