"""Task records ⇄ DynamoDB items, through boto3's TypeSerializer/TypeDeserializer.

Every field is kept (maps and lists included); floats become Decimals on the way in and
numbers come back as int or float. ``request`` is stored as its canonical JSON string, so
its numbers round-trip exactly and idempotent bodies compare byte for byte.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from backtest_core.models import TaskRecord

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_attr(value: Any) -> dict[str, Any]:
    """A DynamoDB attribute value (floats become Decimals, as DynamoDB numbers are)."""
    return _SERIALIZER.serialize(_to_dynamo(value))


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo(v) for v in value]
    return value


def to_item(record: TaskRecord) -> dict[str, Any]:
    data = record.model_dump(mode="json", exclude_none=True)
    data["request"] = record.request.canonical_json()
    return {k: to_attr(v) for k, v in data.items()}


def from_item(item: dict[str, Any]) -> TaskRecord:
    data = {key: _from_dynamo(_DESERIALIZER.deserialize(attr)) for key, attr in item.items()}
    if isinstance(data.get("summary"), str):  # items written before summaries were maps
        data["summary"] = json.loads(data["summary"])
    return TaskRecord.model_validate(data)
