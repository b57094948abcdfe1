"""Dead-letter queue → the task is marked failed with its attempt count and last error."""

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from backtest_core.models import QueueMessage
from backtest_core.observability import logger, metrics
from backtest_core.services import services
from backtest_core.usecases.dead_letter import fail_dead_letter

# Report failures per record (never raise for a whole failed batch): SQS retries just those.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def handle_record(record: SQSRecord) -> bool:
    try:
        message = QueueMessage.model_validate_json(record.body)
    except ValidationError:  # a poison message with no task behind it: nothing to fail
        logger.error("unreadable dead letter dropped", extra={"body": record.body[:500]})
        return False
    receives = int(record.attributes.approximate_receive_count or 0)
    return fail_dead_letter(message, receives, services())


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
