"""boto3 clients, created lazily once per process (cold start) and shared.

``AWS_ENDPOINT_URL`` (moto server, LocalStack) is honoured by boto3 itself.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Short timeouts: an API function answers in milliseconds or fails fast; SQS retries the worker.
_CONFIG = Config(
    connect_timeout=2, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"},
    max_pool_connections=32,  # one client is shared by the threads of the local stack
)


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=_CONFIG)
