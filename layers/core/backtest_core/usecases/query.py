"""Read side: status, history, result and download, the owner's tasks only."""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson

from backtest_contract.market import normalize_symbol
from backtest_contract.registry import BUILTIN_NAMES
from backtest_core.errors import ResultNotFound, TaskNotFound, ValidationFailed
from backtest_core.models import HistoryItem, HistoryPage, StatusView, TaskRecord, TaskStatus
from backtest_core.services import Services
from backtest_core.usecases import views

MAX_PAGES_PER_CALL = 10
# Above this, a download is a redirect to a presigned S3 URL (Lambda responses cap at 6 MB).
INLINE_DOWNLOAD_MAX_BYTES = 4_000_000


def owned_task(task_id: str, owner: str, svc: Services) -> TaskRecord:
    """The live record if it belongs to ``owner``; TaskNotFound otherwise (no existence leak)."""
    record = svc.tasks.get(task_id, svc.clock())
    if record is None or record.owner != owner:
        raise TaskNotFound(task_id)
    return record


def status(task_id: str, owner: str, svc: Services,
           summary: bool = False) -> tuple[StatusView, bytes | None]:
    """The status view and, when completed and small enough to inline, the raw result JSON
    (with ``summary``: the summary view of it, inlined whatever the document's size).

    The result is passed on as stored bytes (not parsed and re-serialised: a 3.6 MB
    document costs ~100 ms to round-trip). Above INLINE_DOWNLOAD_MAX_BYTES it is left out
    and ``result_url`` points at the result route (which redirects to S3).
    """
    record = owned_task(task_id, owner, svc)
    view = status_view(record)
    raw = None
    if view.result_url and record.result_key:
        size = record.summary.result_bytes if record.summary else 0
        if summary:
            raw = _summary_bytes(svc, record.result_key)
        elif size <= INLINE_DOWNLOAD_MAX_BYTES:
            raw = svc.results.get_completed(record.result_key)
    return view, raw


def status_view(record: TaskRecord) -> StatusView:
    """The status view of a record without the result (``result_url`` says where it is);
    also the body of every WebSocket progress message (backtest_core.live)."""
    completed = record.status is TaskStatus.COMPLETED and bool(record.result_key)
    return StatusView(
        task_id=record.task_id, status=record.status, progress=record.progress,
        stage=record.stage, result=None, error=record.error, created_at=record.created_at,
        started_at=record.started_at, updated_at=record.updated_at,
        finished_at=record.finished_at, symbols_total=record.symbols_total,
        symbols_done=record.symbols_done,
        result_url=f"/api/backtests/{record.task_id}" if completed else None, kind=record.kind,
        shards_total=record.shards_total, shards_done=record.shards_done,
        attempt=record.attempt,
    )


def status_json(view: StatusView, raw_result: bytes | None) -> str:
    """The status body: the view's JSON with the stored result spliced in as ``result``."""
    body = view.model_dump_json(exclude={"result"})
    result = raw_result.decode() if raw_result else "null"
    return f'{body[:-1]},"result":{result}}}'


def result_bytes(run_id: str, owner: str, svc: Services) -> tuple[bytes | None, str | None]:
    """(document bytes, None) or, for large documents, (None, presigned URL)."""
    record = _completed_record(run_id, owner, svc)
    raw = svc.results.get_completed(record.result_key or "")
    if raw is None:
        raise ResultNotFound(run_id)
    if len(raw) > INLINE_DOWNLOAD_MAX_BYTES:
        return None, svc.results.presigned_url(record.result_key, f"backtest_{run_id}.json")
    return raw, None


def result_summary(run_id: str, owner: str, svc: Services) -> bytes:
    """The summary view (docs/api.md "Result views"), whatever the document's size."""
    record = _completed_record(run_id, owner, svc)
    raw = _summary_bytes(svc, record.result_key or "")
    if raw is None:
        raise ResultNotFound(run_id)
    return raw


def result_trades_csv(run_id: str, owner: str, svc: Services, symbol: str | None) -> str:
    """Every trade as CSV (docs/api.md "Result views"): the headline portfolio's, or with
    ``symbol`` that symbol's own portfolio's; 422 naming the run's symbols otherwise."""
    record = _completed_record(run_id, owner, svc)
    raw = svc.results.get_completed(record.result_key or "")
    if raw is None:
        raise ResultNotFound(run_id)
    document = orjson.loads(raw)
    if symbol is None:
        return views.trades_csv(views.headline_trades(document))
    try:  # spelled as in a request body: eth_krw, KRW-ETH, ETH/KRW
        trades = views.symbol_trades(document, normalize_symbol(symbol))
    except ValueError:
        trades = None
    if trades is None:
        known = ", ".join(views.run_symbols(document)) or "none"
        raise ValidationFailed.single(["query", "symbol"],
                                      f"Symbol not in this run: {symbol} (the run has {known})")
    return views.trades_csv(trades)


def _completed_record(run_id: str, owner: str, svc: Services) -> TaskRecord:
    record = svc.tasks.get(run_id, svc.clock())
    if (record is None or record.owner != owner or record.status is not TaskStatus.COMPLETED
            or not record.result_key):
        raise ResultNotFound(run_id)
    return record


# Summaries of immutable completed documents, newest last (small: no bulky lists).
_SUMMARIES: dict[str, bytes] = {}
_SUMMARIES_MAX = 32


def _summary_bytes(svc: Services, key: str) -> bytes | None:
    cached = _SUMMARIES.get(key)
    if cached is not None:
        return cached
    raw = svc.results.get_completed(key)
    if raw is None:
        return None
    out = orjson.dumps(views.summary_document(orjson.loads(raw)))
    if len(_SUMMARIES) >= _SUMMARIES_MAX:
        _SUMMARIES.pop(next(iter(_SUMMARIES)))
    _SUMMARIES[key] = out
    return out


def history(
    owner: str, svc: Services, limit: int = 10, cursor: str | None = None,
    strategy: str | None = None, status_filter: TaskStatus | None = None,
) -> HistoryPage:
    """The owner's tasks, newest first; filters apply before the page is cut to ``limit``."""
    start_key = _decode_cursor(cursor, owner)
    now = svc.clock()
    items: list[HistoryItem] = []
    for _ in range(MAX_PAGES_PER_CALL):  # bounded: rare filters return a cursor, not a timeout
        page, last_key = svc.tasks.page_for_owner(owner, limit - len(items), start_key)
        for raw in page:
            record = svc.tasks.get_from_item(raw, now)
            if record and _matches(record, strategy, status_filter):
                items.append(_history_item(record))
        start_key = last_key
        if not last_key or len(items) >= limit:
            break
    if strategy is not None and not items and cursor is None:
        _check_strategy(strategy, owner, svc)  # a deleted saved strategy still has history
    if start_key and len(items) >= limit:  # a full page: null cursor when nothing follows
        more, _ = svc.tasks.page_for_owner(owner, 1, start_key)
        start_key = start_key if more else None
    return HistoryPage(items=items, next_cursor=_encode_cursor(start_key))


def _check_strategy(name: str, owner: str, svc: Services) -> None:
    """422 for a filter that matches nothing and names neither a built-in nor a saved
    strategy."""
    if name in BUILTIN_NAMES or svc.strategies.get(owner, name) is not None:
        return
    known = [*BUILTIN_NAMES, *(s.name for s in svc.strategies.list(owner))]
    raise ValidationFailed.single(["query", "strategy"],
                                  f"Unknown strategy {name!r}; available: {', '.join(known)}")


def _matches(record: TaskRecord, strategy: str | None, status_filter: TaskStatus | None) -> bool:
    return (strategy is None or record.request.strategy_name == strategy) and (
        status_filter is None or record.status is status_filter
    )


def _history_item(record: TaskRecord) -> HistoryItem:
    req = record.request
    return HistoryItem(
        task_id=record.task_id, status=record.status, strategy=req.strategy_name,
        symbols=req.symbols, timeframe=req.timeframe, start_date=req.start_date,
        end_date=req.end_date, progress=record.progress, created_at=record.created_at,
        finished_at=record.finished_at, error=record.error,
        total_signals=record.summary.total_signals if record.summary else None,
        kind=record.kind,
    )


def _encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


_CURSOR_KEYS = {"task_id", "owner", "created_at"}


def _decode_cursor(cursor: str | None, owner: str) -> dict[str, Any] | None:
    """The owner-index key a cursor encodes; 422 unless it is one of this owner's."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        key = None
    valid = (
        isinstance(key, dict) and set(key) == _CURSOR_KEYS
        # DynamoDB rejects an empty key value (a 500); no real cursor has one.
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and v["S"]
                for v in key.values())
        and key["owner"]["S"] == owner
    )
    if not valid:
        raise ValidationFailed.single(["query", "cursor"], "Invalid cursor")
    return key
