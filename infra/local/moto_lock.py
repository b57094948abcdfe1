"""Make moto's DynamoDB atomic per request, for the local harness and the tests only.

moto's DynamoDB backend is not thread-safe: two concurrent ``UpdateItem`` calls can both
pass a ``ConditionExpression`` or lose an ``ADD`` (measured). Real DynamoDB evaluates a
condition and applies the write atomically per item, so we serialise every public backend
method with one process-wide lock. Never used by deployed code.
"""

from __future__ import annotations

import functools
import threading

_LOCK = threading.RLock()
_INSTALLED = False


def install_dynamodb_lock() -> None:
    """Wrap every public method of moto's DynamoDB backend in one re-entrant lock (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name, member in list(vars(DynamoDBBackend).items()):
        if name.startswith("_") or not callable(member) or isinstance(member, type):
            continue
        setattr(DynamoDBBackend, name, _locked(member))
    _INSTALLED = True


def _locked(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper
