"""Where market data is stored: a local directory or an S3 prefix, behind one small interface.

Both stores write atomically: a local file is written to a temporary name in the same
directory and renamed over the target (``os.replace``); an S3 ``PutObject`` is atomic by
itself. A reader therefore sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from backtest_core.inventory import (
    MANIFEST_KEY,
    FileEntry,
    InventoryView,
    Manifest,
    build_inventory,
)
from backtest_core.storage import get_object_or_none


class DataStore(Protocol):
    """Keys are ``/``-separated and relative to the root, e.g. ``BTC_KRW/1H/2024.parquet``."""

    label: str  # where it is, for messages: a path or s3://bucket/prefix

    def list_files(self) -> dict[str, int]:
        """key → size in bytes of every object under the root."""
        ...

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        ...

    def put(self, key: str, body: bytes, source: str) -> None:
        """Store ``body`` atomically; ``source`` is kept with it where the store can."""
        ...


def read_manifest(store: DataStore) -> Manifest:
    """The store's manifest; an empty one when it has none or it is unreadable."""
    raw = store.get(MANIFEST_KEY)
    if not raw:
        return Manifest()
    try:
        return Manifest.model_validate_json(raw)
    except ValueError:  # a hand-edited or truncated manifest only costs the stats
        return Manifest()


def write_manifest(store: DataStore, manifest: Manifest) -> None:
    """Replace the manifest (last writer wins; a lost update only nulls an item's stats)."""
    store.put(MANIFEST_KEY, manifest.model_dump_json(indent=1).encode(), "manifest")


def record_files(store: DataStore, entries: dict[str, FileEntry]) -> None:
    """Add (or replace) the manifest entries of files just written."""
    if entries:
        manifest = read_manifest(store)
        manifest.files.update(entries)
        write_manifest(store, manifest)


def inventory(store: DataStore) -> InventoryView:
    """One listing plus one manifest read: no Parquet file is opened."""
    return build_inventory(store.list_files(), read_manifest(store))


class LocalDataStore:
    """A directory tree. Temporary files (``.*.tmp``) are never listed."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.label = str(self.root)

    def list_files(self) -> dict[str, int]:
        if not self.root.is_dir():
            return {}
        return {
            p.relative_to(self.root).as_posix(): p.stat().st_size
            for p in sorted(self.root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")
        }

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def put(self, key: str, body: bytes, source: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _path(self, key: str) -> Path:
        parts = [p for p in key.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise ValueError(f"invalid key {key!r}")
        return self.root.joinpath(*parts)


class S3DataStore:
    """``s3://bucket/prefix``. ``source`` goes into the object metadata, where the worker's
    candle reader (storage.S3CandleReader) finds it for the result's ``data.source``."""

    def __init__(self, s3: Any, bucket: str, prefix: str = "data/"):
        self._s3 = s3
        self._bucket = bucket
        self._prefix = prefix
        self.label = f"s3://{bucket}/{prefix}"

    def list_files(self) -> dict[str, int]:
        out: dict[str, int] = {}
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=self._prefix):
            for obj in page.get("Contents", []):
                out[obj["Key"][len(self._prefix):]] = int(obj["Size"])
        return out

    def get(self, key: str) -> bytes | None:
        obj = get_object_or_none(self._s3, self._bucket, self._prefix + key)
        return None if obj is None else obj["Body"].read()

    def put(self, key: str, body: bytes, source: str) -> None:
        content_type = "application/json" if key.endswith(".json") else (
            "application/vnd.apache.parquet")
        # S3 user metadata is ASCII only (and at most 2 KB with the key names).
        ascii_source = source.encode("ascii", "replace").decode()[:1024]
        self._s3.put_object(Bucket=self._bucket, Key=self._prefix + key, Body=body,
                            ContentType=content_type, Metadata={"source": ascii_source})

