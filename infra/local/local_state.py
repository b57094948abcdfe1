"""Local state across a clean restart: moto keeps everything in memory, so the stack saves it.

At a clean stop (Ctrl-C, SIGTERM) ``save`` writes every table's items and every bucket's
objects under the state directory (``.local/`` by default; ``LOCAL_STATE_DIR=""`` turns it
off); at start ``load`` puts them back into the fresh moto, and ``resend_pending`` sends a
jobs-queue message for every task still ``queued`` or ``running``: the queues themselves
are not saved, their pending work is re-created from the tasks (a stale duplicate is
harmless: claims are conditional). A hard kill (SIGKILL, a crash, a power cut) saves
nothing: everything since the last clean stop is lost.

Layout: ``tables/<LogicalId>.json`` (items in DynamoDB JSON, binary values as
``{"__b64__": ...}``), ``s3/<LogicalId>.json`` (keys, content types, metadata) and
``s3/<LogicalId>/<key>`` (the bytes). Written to a temporary directory first, then swapped
in, so a crash mid-save keeps the previous state.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from infra.local.emulation import Emulation
from infra.local.journal import replay

log = logging.getLogger("local.state")
TASKS_TABLE = "TasksTable"
JOBS_QUEUE = "JobsQueue"
_B64 = "__b64__"


def journal_path(state_dir: Path, generation: int) -> Path:
    """The journal of writes made after snapshot ``generation`` (docs/local.md)."""
    return state_dir.with_name(state_dir.name + ".journal") / f"{generation}.log"


def generation(state_dir: Path) -> int:
    """The saved snapshot's generation (0: none yet): its journal is replayed on top."""
    old = state_dir.with_name(state_dir.name + ".old")
    if not state_dir.exists() and old.is_dir():  # killed between save()'s renames
        old.rename(state_dir)
    meta = state_dir / "meta.json"
    return int(json.loads(meta.read_text())["generation"]) if meta.is_file() else 0


def recover(emu: Emulation, state_dir: Path) -> int:
    """At start: snapshot + its journal into the fresh emulator, then a new snapshot of
    the next generation (atomic) and the old journal removed. Returns the generation
    whose journal the moto process now writes. A kill at any point repeats this safely:
    until the new snapshot is in place, the old snapshot and journal are untouched."""
    load(emu, state_dir)
    journal = journal_path(state_dir, generation(state_dir))
    replayed = replay(journal, emu.endpoint_url)
    if replayed:
        log.info("state: replayed %d journalled write(s) from %s", replayed, journal)
    return checkpoint(emu, state_dir)


def checkpoint(emu: Emulation, state_dir: Path) -> int:
    """A snapshot of the next generation, then the journal it makes redundant removed;
    the new generation (the moto process journals into its file)."""
    gen = generation(state_dir)
    save(emu, state_dir, gen + 1)
    journal_path(state_dir, gen).unlink(missing_ok=True)
    return gen + 1


def save(emu: Emulation, state_dir: Path, gen: int) -> None:
    """Snapshot tables and buckets into ``state_dir`` (replacing the previous snapshot) as
    generation ``gen``: what follows it is journalled in ``journal_path(state_dir, gen)``."""
    tmp = state_dir.with_name(state_dir.name + ".saving")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "tables").mkdir(parents=True)
    (tmp / "s3").mkdir()
    ddb, s3 = emu.client("dynamodb", journalled=False), emu.client("s3", journalled=False)
    items = objects = 0
    for table in emu.model.tables:
        rows = [_encode(item) for page in ddb.get_paginator("scan").paginate(  # type: ignore[attr-defined]
            TableName=table.name, ConsistentRead=True) for item in page.get("Items", [])]
        (tmp / "tables" / f"{table.logical_id}.json").write_text(json.dumps(rows))
        items += len(rows)
    for bucket in emu.model.buckets:
        manifest = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket.name):  # type: ignore[attr-defined]
            for entry in page.get("Contents", []):
                path = _object_path(tmp / "s3" / bucket.logical_id, entry["Key"])
                if path is None:
                    log.warning("state: object key %r cannot be saved as a file", entry["Key"])
                    continue
                obj = s3.get_object(Bucket=bucket.name, Key=entry["Key"])  # type: ignore[attr-defined]
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(obj["Body"].read())
                except OSError as exc:  # e.g. both "a" and "a/b" exist as keys
                    log.warning("state: object %r not saved: %s", entry["Key"], exc)
                    continue
                manifest.append({"key": entry["Key"], "content_type": obj.get("ContentType"),
                                 "metadata": obj.get("Metadata") or {}})
        (tmp / "s3" / f"{bucket.logical_id}.json").write_text(json.dumps(manifest))
        objects += len(manifest)
    (tmp / "meta.json").write_text(json.dumps({"generation": gen}))
    _fsync_tree(tmp)
    old = state_dir.with_name(state_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if state_dir.exists():
        state_dir.rename(old)
    tmp.rename(state_dir)  # a kill between the two renames: load() falls back to .old
    _fsync_dir(state_dir.parent)
    shutil.rmtree(old, ignore_errors=True)
    log.info("state saved to %s: %d items, %d objects", state_dir, items, objects)


def load(emu: Emulation, state_dir: Path) -> int:
    """Put a saved snapshot into the (fresh) emulator; the number of items + objects."""
    generation(state_dir)  # settles a save() killed between its renames
    if not (state_dir / "tables").is_dir():
        log.info("state: nothing saved in %s yet", state_dir)
        return 0
    ddb, s3 = emu.client("dynamodb", journalled=False), emu.client("s3", journalled=False)
    items = objects = 0
    for table in emu.model.tables:
        path = state_dir / "tables" / f"{table.logical_id}.json"
        rows = json.loads(path.read_text()) if path.is_file() else []
        for start in range(0, len(rows), 25):
            requests = [{"PutRequest": {"Item": _decode(row)}} for row in rows[start:start + 25]]
            pending = {table.name: requests}
            while pending:
                pending = ddb.batch_write_item(RequestItems=pending).get(  # type: ignore[attr-defined]
                    "UnprocessedItems") or {}
        items += len(rows)
    for bucket in emu.model.buckets:
        manifest_path = state_dir / "s3" / f"{bucket.logical_id}.json"
        for entry in json.loads(manifest_path.read_text()) if manifest_path.is_file() else []:
            path = _object_path(state_dir / "s3" / bucket.logical_id, entry["key"])
            if path is None or not path.is_file():
                continue
            extra = {"ContentType": entry["content_type"]} if entry.get("content_type") else {}
            s3.put_object(Bucket=bucket.name, Key=entry["key"], Body=path.read_bytes(),  # type: ignore[attr-defined]
                          Metadata=entry.get("metadata") or {}, **extra)
            objects += 1
    log.info("state reloaded from %s: %d items, %d objects", state_dir, items, objects)
    return items + objects


def resend_pending(emu: Emulation) -> int:
    """A jobs-queue message for every task left ``queued`` or ``running`` (the queues were
    not saved). Local only: a scan of the local table is fine here."""
    from backtest_core.models import QueueMessage
    from backtest_core.timeutil import iso, utc_now

    table = next((t for t in emu.model.tables if t.logical_id == TASKS_TABLE), None)
    if table is None or JOBS_QUEUE not in emu.queue_urls:
        return 0
    ddb, sqs = emu.client("dynamodb"), emu.client("sqs")
    sent = 0
    for page in ddb.get_paginator("scan").paginate(  # type: ignore[attr-defined]
        TableName=table.name, FilterExpression="#s IN (:q, :r)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":q": {"S": "queued"}, ":r": {"S": "running"}},
    ):
        for item in page.get("Items", []):
            message = QueueMessage(task_id=item["task_id"]["S"], owner=item["owner"]["S"],
                                   enqueued_at=iso(utc_now()))
            sqs.send_message(QueueUrl=emu.queue_urls[JOBS_QUEUE],  # type: ignore[attr-defined]
                             MessageBody=message.model_dump_json())
            sent += 1
    if sent:
        log.info("state: re-sent %d pending task(s) to %s", sent, JOBS_QUEUE)
    return sent


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    for path in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _object_path(root: Path, key: str) -> Path | None:
    """Where a key is stored under ``root``; None for keys that are no safe relative path."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    return root.joinpath(*parts)


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {_B64: base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_B64} and isinstance(value[_B64], str):
            return base64.b64decode(value[_B64])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
