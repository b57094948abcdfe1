"""The jobs queue: one message per task (``QueueMessage``)."""

from __future__ import annotations

from typing import Any

from backtest_core.models import QueueMessage

MAX_VISIBILITY_S = 43_200  # SQS's limit (12 h)
MAX_DELAY_S = 900  # SQS's DelaySeconds limit (15 min)


class JobQueue:
    def __init__(self, sqs: Any, queue_url: str):
        self._sqs = sqs
        self._url = queue_url

    def send(self, message: QueueMessage, delay_s: int = 0) -> str:
        """Send the message, invisible for ``delay_s`` seconds (clamped to 0..900, SQS's
        limit); returns its SQS message id. Errors propagate to the caller."""
        resp = self._sqs.send_message(
            QueueUrl=self._url, MessageBody=message.model_dump_json(),
            DelaySeconds=max(0, min(delay_s, MAX_DELAY_S)),
        )
        return resp["MessageId"]

    def retry_after(self, receipt_handle: str, seconds: int) -> None:
        """Make a failed delivery visible again in ``seconds`` (instead of the queue's full
        visibility timeout, 6 × the worker timeout). Best effort: errors are swallowed."""
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=receipt_handle,
                VisibilityTimeout=max(0, min(seconds, MAX_VISIBILITY_S)),
            )
        except Exception:  # the message still comes back after the full timeout
            return
