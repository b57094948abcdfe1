"""What a progress message says, and whether a task change is news for a connection."""

from __future__ import annotations

from typing import Any

from backtest_core.live.connections import Sent
from backtest_core.models import TaskRecord, TaskStatus
from backtest_core.usecases.query import status_view

MIN_PROGRESS_STEP = 0.01  # docs/live.md: a progress change of at least 0.01 is news
_RANK = {TaskStatus.QUEUED: 0, TaskStatus.RUNNING: 1}  # terminal statuses rank 2


def message(record: TaskRecord, seq: int) -> dict[str, Any]:
    """docs/live.md: the status view without ``result`` (see ``result_url``), plus ``seq``."""
    body = status_view(record).model_dump(mode="json", exclude={"result"})
    body["seq"] = seq
    return body


def sent_mark(record: TaskRecord) -> Sent:
    return Sent(status=record.status.value, stage=record.stage, progress=record.progress,
                done=_done(record), updated_at=record.updated_at)


def is_news(sent: Sent | None, record: TaskRecord) -> bool:
    """True when ``record`` is newer than what was sent and differs in status, stage,
    progress (≥ 0.01) or symbols/shards done. Older images (a stream record that arrives
    after a fresher read) are never news, so a connection never goes backwards."""
    if sent is None:
        return True
    old_rank = _RANK.get(TaskStatus(sent.status), 2)
    new_rank = _RANK.get(record.status, 2)
    if old_rank == 2 or new_rank < old_rank:
        return False  # nothing follows a terminal message
    if new_rank > old_rank:
        return True
    if record.progress < sent.progress or record.updated_at < sent.updated_at:
        return False
    return (record.stage != sent.stage or _done(record) != sent.done
            or record.progress - sent.progress >= MIN_PROGRESS_STEP - 1e-9)


def _done(record: TaskRecord) -> int:
    # sweeps count shards; plain runs symbols (both only grow)
    return record.symbols_done + int(getattr(record, "shards_done", 0) or 0)
