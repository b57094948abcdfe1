"""The write journal of the local emulation: every acknowledged write survives kill -9.

See docs/local.md ("Durable local state"). The moto process appends each successful
mutating DynamoDB/S3 request (method, path, headers, body) as one JSON line and fsyncs it
*before* the HTTP answer goes back, so anything a client was told happened is on disk. At
start the stack loads the last snapshot and replays the journal that follows it, in order;
the replay of a request sequence that succeeded once succeeds again the same way (moto is
deterministic for these calls, and writes are journalled in the order they were applied).

Requests carrying ``X-Local-No-Journal`` (the stack's own snapshot load and replay) are not
journalled. A truncated last line (a kill mid-append) was never acknowledged: it is skipped.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("local.journal")
NO_JOURNAL_HEADER = "X-Local-No-Journal"
_DYNAMODB_WRITES = frozenset(f"DynamoDB_20120810.{op}" for op in (
    "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"))
_KEPT_HEADERS = ("authorization", "content-type", "x-amz-target", "content-md5",
                 "content-encoding")  # moto routes a request by its credential scope


def is_journalled(method: str, path: str, headers: Any) -> bool:
    """A data write worth keeping: DynamoDB item writes, S3 object writes and deletes.
    Resource creation (tables, buckets, queues) is redone by the bootstrap at each start."""
    if headers.get(NO_JOURNAL_HEADER):
        return False
    target = headers.get("X-Amz-Target", "")
    if target:
        return target in _DYNAMODB_WRITES
    if method not in ("PUT", "POST", "DELETE") or headers.get("Authorization", "").find(
            "/s3/") < 0:
        return False
    bucket_and_key = path.split("?", 1)[0].lstrip("/").split("/", 1)
    return len(bucket_and_key) == 2 and bool(bucket_and_key[1]) or "delete" in path


class Journal:
    """An append-only file of requests. ``append`` (under ``lock``, with the apply) writes
    a line and returns its end offset; ``sync(offset)`` returns once that line is on disk.
    Group commit: one fsync covers every line written before it, so concurrent writers
    wait for one fsync, not for each other's."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # unbuffered: each write is in the OS's page cache at once, so an fsync covers it
        self._file = open(path, "wb", buffering=0)  # noqa: SIM115 - the process's lifetime
        self.lock = threading.Lock()  # held around apply + append: journal order = applied order
        self._sync_lock = threading.Lock()
        self._written = 0  # bytes written (under ``lock``)
        self._synced = 0  # bytes known to be on disk

    def append(self, method: str, path: str, headers: Any, body: bytes) -> int:
        record = {"m": method, "p": path,
                  "h": {k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS
                        or k.lower().startswith("x-amz-meta-")},
                  "b": base64.b64encode(body).decode()}
        line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        rest = memoryview(line)
        while rest:  # a regular file takes it whole; a short write is finished here
            rest = rest[self._file.write(rest):]
        self._written += len(line)
        return self._written

    def sync(self, offset: int) -> None:
        """Return once the first ``offset`` bytes are on disk."""
        if self._synced >= offset:
            return
        with self._sync_lock:
            if self._synced >= offset:  # another writer's fsync covered it meanwhile
                return
            target = self._written  # every line written so far is covered by this fsync
            os.fsync(self._file.fileno())
            self._synced = target


def records(path: Path) -> Iterator[dict[str, Any]]:
    """The journal's complete records, in order (a torn last line is skipped)."""
    if not path.is_file():
        return
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                log.info("journal: skipped a torn last record (never acknowledged)")
                return
            yield json.loads(line)


def replay(path: Path, endpoint_url: str) -> int:
    """Send the journal's records to the emulator again, unjournalled; how many."""
    parts = urlsplit(endpoint_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                      timeout=30)
    count = failed = 0
    try:
        for rec in records(path):
            headers = dict(rec["h"])
            headers[NO_JOURNAL_HEADER] = "1"
            conn.request(rec["m"], rec["p"], body=base64.b64decode(rec["b"]), headers=headers)
            resp = conn.getresponse()
            resp.read()
            count += 1
            if resp.status >= 300:
                failed += 1
    finally:
        conn.close()
    if failed:
        log.warning("journal: %d of %d replayed writes were refused", failed, count)
    return count
