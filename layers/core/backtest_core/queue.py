"""The jobs queue: one message per task (``QueueMessage``)."""

from __future__ import annotations

from typing import Any

from backtest_core.models import QueueMessage


class JobQueue:
    def __init__(self, sqs: Any, queue_url: str):
        self._sqs = sqs
        self._url = queue_url

    def send(self, message: QueueMessage) -> str:
        """Send the message; returns its SQS message id. Errors propagate (caller fails the task)."""
        resp = self._sqs.send_message(QueueUrl=self._url, MessageBody=message.model_dump_json())
        return resp["MessageId"]
