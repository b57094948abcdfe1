"""S3: result documents (full JSON) and the candle reader the engine uses for market data."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

import orjson
from botocore.exceptions import ClientError

from backtest_contract.encoding import encode_document

PRESIGN_EXPIRY_S = 900


def get_object_or_none(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """``GetObject``'s answer, or None when the key does not exist."""
    try:
        return s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise


CACHE_MAX_BYTES = 64 * 1024 * 1024  # completed documents kept by a warm status function


class _BytesLru:
    """A thread-safe LRU of immutable objects, bounded by their total size in bytes."""

    def __init__(self, max_bytes: int):
        self._max = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: bytes) -> None:
        if len(value) > self._max:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._size += len(value)
            while self._size > self._max:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)


class ResultStore:
    """Results live at ``{prefix}{task_id}/{attempt}.json``; the bucket's lifecycle expires
    them with the TTL. One key per attempt, so a stale attempt can never overwrite (or
    delete) the document of the attempt that completed the task — which is also why a
    completed document can be kept in memory (``get_completed``)."""

    def __init__(self, s3: Any, bucket: str, prefix: str):
        self._s3 = s3
        self._bucket = bucket
        self._prefix = prefix
        self._completed = _BytesLru(CACHE_MAX_BYTES)

    def get_completed(self, key: str) -> bytes | None:
        """The document of a completed task (its key never changes again): from memory
        when this process read it before (a client polling status), else from S3."""
        raw = self._completed.get(key)
        if raw is None:
            raw = self.get_bytes(key)
            if raw is not None:
                self._completed.put(key, raw)
        return raw

    def key_for(self, task_id: str, attempt: int) -> str:
        return f"{self._prefix}{task_id}/{attempt}.json"

    def put(self, task_id: str, attempt: int, document: dict[str, Any]) -> tuple[str, int]:
        """Store the document (compact JSON: ``backtest_contract.encoding``, orjson);
        returns (key, size in bytes)."""
        key = self.key_for(task_id, attempt)
        body = encode_document(document)
        self._s3.put_object(Bucket=self._bucket, Key=key, ContentType="application/json",
                            Body=body)
        return key, len(body)

    def shard_key(self, task_id: str, attempt: int, shard: int) -> str:
        """Where a fan-out shard's result lives, under the task's prefix and attempt."""
        return f"{self._prefix}{task_id}/shards/{attempt}/{shard}.json"

    def put_shard(self, task_id: str, attempt: int, shard: int, document: dict[str, Any]) -> str:
        key = self.shard_key(task_id, attempt, shard)
        self._s3.put_object(Bucket=self._bucket, Key=key, ContentType="application/json",
                            Body=encode_document(document))
        return key

    def get_shard(self, task_id: str, attempt: int, shard: int) -> dict[str, Any] | None:
        raw = self.get_bytes(self.shard_key(task_id, attempt, shard))
        return None if raw is None else orjson.loads(raw)

    def unit_key(self, task_id: str, symbol: str) -> str:
        """Where a finished symbol of a task's run is kept for its retries (any attempt)."""
        return f"{self._prefix}{task_id}/units/{symbol}.json"

    def put_unit(self, task_id: str, symbol: str, document: dict[str, Any]) -> str:
        key = self.unit_key(task_id, symbol)
        self._s3.put_object(Bucket=self._bucket, Key=key, ContentType="application/json",
                            Body=encode_document(document))
        return key

    def get_unit(self, task_id: str, symbol: str) -> dict[str, Any] | None:
        raw = self.get_bytes(self.unit_key(task_id, symbol))
        return None if raw is None else orjson.loads(raw)

    def get_bytes(self, key: str) -> bytes | None:
        obj = get_object_or_none(self._s3, self._bucket, key)
        return None if obj is None else obj["Body"].read()

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key)

    def presigned_url(self, key: str, filename: str) -> str:
        return self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key,
                    "ResponseContentDisposition": f'attachment; filename="{filename}"'},
            ExpiresIn=PRESIGN_EXPIRY_S,
        )


class S3CandleReader:
    """The engine's reader interface (``get``, ``list``, ``describe``, ``version``) over
    ``s3://bucket/prefix``.

    ``describe(key)`` returns the object's ``source`` metadata (e.g. ``synthetic ...``) or its
    S3 URI, which the engine reports as the data block's ``source``. ``version(key)`` names
    the object as last listed or read: URI, ETag, size and LastModified (any rewrite
    changes it), or None before either; a warm worker keeps parsed candles under it
    (docs/engine.md, "Warm caches").
    """

    def __init__(self, s3: Any, bucket: str, prefix: str):
        self._s3 = s3
        self._bucket = bucket
        self._prefix = prefix
        self._sources: dict[str, str] = {}
        self._versions: dict[str, str] = {}

    def get(self, key: str) -> bytes | None:
        obj = get_object_or_none(self._s3, self._bucket, self._prefix + key)
        if obj is None:
            self._versions.pop(key, None)
            return None
        self._sources[key] = obj.get("Metadata", {}).get("source") or self._uri(key)
        body = obj["Body"].read()
        self._remember(key, obj.get("ETag"), len(body), obj.get("LastModified"))
        return body

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=self._prefix + prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"][len(self._prefix):]
                keys.append(key)
                self._remember(key, obj.get("ETag"), obj.get("Size"), obj.get("LastModified"))
        return keys

    def version(self, key: str) -> str | None:
        """``s3://bucket/prefix/key#ETag:size:mtime`` (mtime: LastModified in whole epoch
        seconds, so a rewrite of the same bytes with other metadata is another version) as
        last listed or read, else None."""
        return self._versions.get(key)

    def _remember(self, key: str, etag: str | None, size: int | None,
                  modified: datetime | None) -> None:
        if etag and size is not None and modified is not None:
            tag = etag.strip('"')
            self._versions[key] = f"{self._uri(key)}#{tag}:{size}:{int(modified.timestamp())}"
        else:
            self._versions.pop(key, None)

    def describe(self, key: str) -> str:
        return self._sources.get(key, self._uri(key))

    def _uri(self, key: str) -> str:
        return f"s3://{self._bucket}/{self._prefix}{key}"
