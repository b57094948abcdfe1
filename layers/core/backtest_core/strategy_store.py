"""The Strategies table: an owner's saved rule documents (key owner + name).

A document is stored as its submitted JSON text (so its version, the hash of its canonical
JSON, is reproducible) with ``version``, ``created_at`` and ``updated_at``. Saving an
existing name replaces the document (a new version); a new name is refused once the owner
has ``MAX_PER_OWNER``. The count is read before the write, so two concurrent first saves
of the 100th and 101st names may both land: the limit is a quota, not an invariant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

MAX_PER_OWNER = 100


@dataclass(frozen=True)
class SavedStrategy:
    owner: str
    name: str
    document: dict[str, Any]
    version: str
    created_at: str
    updated_at: str


class StrategyLimitReached(Exception):
    """The owner already has ``MAX_PER_OWNER`` saved strategies."""


class StrategyStore:
    """Data access for saved strategies; ``ddb`` is a boto3 DynamoDB client."""

    def __init__(self, ddb: Any, table: str | None):
        self._ddb = ddb
        self._table = table

    @property
    def enabled(self) -> bool:
        return bool(self._table)

    def get(self, owner: str, name: str) -> SavedStrategy | None:
        if not self._table:
            return None
        resp = self._ddb.get_item(TableName=self._table, ConsistentRead=True,
                                  Key={"owner": {"S": owner}, "name": {"S": name}})
        item = resp.get("Item")
        return _saved(item) if item else None

    def list(self, owner: str) -> list[SavedStrategy]:
        """The owner's strategies by name (at most MAX_PER_OWNER, so one or two pages)."""
        if not self._table:
            return []
        out: list[SavedStrategy] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table, "KeyConditionExpression": "#o = :o",
            "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":o": {"S": owner}}, "ConsistentRead": True}
        while True:
            resp = self._ddb.query(**kwargs)
            out.extend(_saved(item) for item in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return sorted(out, key=lambda s: s.name)
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def put(self, owner: str, name: str, document: dict[str, Any], version: str,
            now_iso: str) -> SavedStrategy:
        """Save (or replace) ``name``. Raises StrategyLimitReached for a new name past the
        limit. ``created_at`` is kept across replacements."""
        existing = self.get(owner, name)
        if existing is None and len(self.list(owner)) >= MAX_PER_OWNER:
            raise StrategyLimitReached(name)
        created = existing.created_at if existing else now_iso
        self._ddb.put_item(TableName=self._table, Item={
            "owner": {"S": owner}, "name": {"S": name},
            "document": {"S": json.dumps(document, ensure_ascii=False)},
            "version": {"S": version}, "created_at": {"S": created},
            "updated_at": {"S": now_iso}})
        return SavedStrategy(owner, name, document, version, created, now_iso)

    def delete(self, owner: str, name: str) -> bool:
        """True when ``name`` existed."""
        if not self._table:
            return False
        try:
            self._ddb.delete_item(TableName=self._table,
                                  Key={"owner": {"S": owner}, "name": {"S": name}},
                                  ConditionExpression="attribute_exists(#n)",
                                  ExpressionAttributeNames={"#n": "name"})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _saved(item: dict[str, Any]) -> SavedStrategy:
    return SavedStrategy(owner=item["owner"]["S"], name=item["name"]["S"],
                         document=json.loads(item["document"]["S"]),
                         version=item["version"]["S"], created_at=item["created_at"]["S"],
                         updated_at=item["updated_at"]["S"])
