"""DynamoDB Streams → WebSocket messages (docs/live.md).

Two event sources: the Tasks table (a task changed: push it to the connections watching
it) and the Connections table (a connection was stored: send its snapshot). Failures are
reported per record (``batchItemFailures``), so the stream retries from that record.
"""

from functools import cache

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)

from backtest_core.live.settings import live_settings
from backtest_core.live.usecases import LiveServices, on_new_connection, on_task_image
from backtest_core.observability import logger

processor = BatchProcessor(event_type=EventType.DynamoDBStreams,
                           raise_on_entire_batch_failure=False)


@cache
def services() -> LiveServices:
    """Built once, at the first invocation (cold start)."""
    return LiveServices.from_settings(live_settings(), with_poster=True)


def handle_record(record: DynamoDBRecord) -> None:
    raw = record.raw_event
    change = raw.get("dynamodb") or {}
    keys = change.get("Keys") or {}
    if "connection_id" in keys:
        if raw.get("eventName") == "INSERT":
            on_new_connection(keys["connection_id"]["S"], services())
    elif raw.get("eventName") in ("INSERT", "MODIFY") and change.get("NewImage"):
        on_task_image(change["NewImage"], services())


@logger.inject_lambda_context
def lambda_handler(event: dict, context: object) -> dict:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
