"""Which failures are worth a retry, and how a failure reads to the task's owner (docs/operations.md).

Transient = what botocore's own standard retry mode retries: AWS throttling (``SlowDown``,
``ThrottlingException``, ``ProvisionedThroughputExceededException``, HTTP 429 ...), AWS 5xx
and connection errors (``EndpointConnectionError``, ``ConnectionClosedError``, read and
connect timeouts). Everything else — a bad message, bad data, a bug — is permanent: the
task fails at once, with a message that names no Python exception class.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from botocore.retries.standard import (
    RetryContext,
    ThrottledRetryableChecker,
    TransientRetryableChecker,
)

from backtest_core.quoting import quote_text

_MESSAGE_LIMIT = 300
_CHECKERS = (TransientRetryableChecker(), ThrottledRetryableChecker())
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def is_transient(exc: BaseException) -> bool:
    """True for AWS throttling, AWS 5xx and connection errors; False for everything else.

    >>> is_transient(ClientError({"Error": {"Code": "SlowDown"}}, "GetObject"))
    True
    >>> is_transient(OverflowError("date value out of range"))
    False
    """
    if isinstance(exc, ConnectionError | HTTPClientError) or getattr(exc, "transient", False):
        return True
    if not isinstance(exc, ClientError):
        return False
    context = RetryContext(attempt_number=1, parsed_response=exc.response)
    if any(checker.is_retryable(context) for checker in _CHECKERS):
        return True
    status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return status in _RETRYABLE_STATUS


def describe(exc: BaseException) -> str:
    """A one-line message for the task's ``error``/``last_error``, without class names.

    >>> describe(ClientError({"Error": {"Code": "SlowDown", "Message": "Reduce your rate"}},
    ...                      "GetObject"))
    'AWS GetObject failed: SlowDown (Reduce your rate)'
    >>> describe(OverflowError("date value out of range"))
    'internal error while running the backtest (date value out of range)'
    """
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        code = error.get("Code") or "error"
        detail = f" ({error['Message']})" if error.get("Message") else ""
        return _short(f"AWS {exc.operation_name} failed: {code}{detail}")
    if isinstance(exc, ConnectionError | HTTPClientError):
        return _short(f"AWS connection error: {exc}")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    detail = f" ({quote_text(text)})" if text else ""
    return _short(f"internal error while running the backtest{detail}")


def _short(message: str) -> str:
    return message if len(message) <= _MESSAGE_LIMIT else message[: _MESSAGE_LIMIT - 3] + "..."
