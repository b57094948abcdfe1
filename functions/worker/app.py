"""SQS jobs queue → run_task (or the Fargate hand-off / lease watch of a long run), one
record at a time, partial batch failures reported.

Only transient errors (AWS throttling/5xx/connection) propagate from the record handler, so
the record is reported as a batch item failure and SQS redelivers it (after maxReceiveCount
it goes to the DLQ); anything else fails the task at once (usecases/jobs.py).
"""

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from backtest_core.observability import logger, metrics
from backtest_core.services import services
from backtest_core.usecases.jobs import handle_job
from backtest_engine.adapter import Engine

# Report failures per record (never raise for a whole failed batch): SQS retries just those.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
engine = Engine()


def handle_record(record: SQSRecord) -> str:
    svc = services()
    try:
        return handle_job(record.body, engine, svc)
    except Exception:  # transient: retry soon with backoff (SQS moves it to the DLQ after 3)
        receives = int(record.attributes.approximate_receive_count or 1)
        svc.queue.retry_after(record.receipt_handle, svc.settings.retry_backoff_s * receives)
        raise


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
