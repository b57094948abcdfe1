"""Routers, one per Lambda function. Each route parses, calls one use case, maps the answer.

The docs function includes every router so ``/api/openapi.json`` describes the whole API
(the sync-run router is given no engine there and never serves a request).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.router import Router

from backtest_contract.metrics import ResultDocument
from backtest_core.api.resolver import owner_of, responses
from backtest_core.models import (
    BacktestRequest,
    HealthView,
    HistoryPage,
    ResultView,
    StatusView,
    SweepCreated,
    SweepRequest,
    TaskCreated,
    TaskStatus,
)
from backtest_core.services import services
from backtest_core.timeutil import iso
from backtest_core.usecases import cancel as cancel_uc
from backtest_core.usecases import query
from backtest_core.usecases.submit import submit, submit_sweep

TaskId = Annotated[str, Path(min_length=1)]
ViewQuery = Annotated[ResultView, Query(description=(
    "`full` (default): the stored document; `summary`: without `signals` and "
    "`performance_curve`, each `trade_log` cut to its first 1,000 trades"))]
RETRY_AFTER_S = {TaskStatus.QUEUED: "2", TaskStatus.RUNNING: "1"}

submit_router = Router()
status_router = Router()
cancel_router = Router()
history_router = Router()
results_router = Router()
health_router = Router()


@submit_router.post(
    "/api/backtests/run-async", summary="Submit a backtest (async)", tags=["submit"],
    responses=responses(TaskCreated, 401, 409, 413, 429, 500, ok_description="Queued"),
)
def run_async(
    request: BacktestRequest,
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key", max_length=255)] = None,
) -> TaskCreated:
    owner = owner_of(submit_router)
    if idempotency_key:
        # Imported on first use: Powertools idempotency costs ~0.2 s of cold import.
        from backtest_core.api.idempotency import submit_once

        return submit_once(request, owner, idempotency_key, submit_router.lambda_context)
    return submit(request, owner, services())


@submit_router.post(
    "/api/sweeps/run-async", summary="Submit a parameter sweep (async)", tags=["sweeps"],
    responses=responses(SweepCreated, 401, 409, 429, 500, ok_description="Queued"),
)
def sweep_run_async(
    request: SweepRequest,
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key", max_length=255)] = None,
) -> SweepCreated:
    owner = owner_of(submit_router)
    if idempotency_key:
        from backtest_core.api.idempotency import submit_once

        created = submit_once(request, owner, idempotency_key, submit_router.lambda_context)
        return SweepCreated.model_validate(created.model_dump())
    return submit_sweep(request, owner, services())


@status_router.get(
    "/api/backtests/status/<task_id>", summary="Task status and progress", tags=["status"],
    responses=responses(StatusView, 401, 404, 500,
                        ok_description="The task (with the result once completed)"),
)
def get_status(task_id: TaskId, view: ViewQuery = ResultView.FULL) -> Response[Any]:
    summary = view is ResultView.SUMMARY
    view_, raw_result = query.status(task_id, owner_of(status_router), services(), summary)
    headers = ({"Retry-After": RETRY_AFTER_S[view_.status]}
               if view_.status in RETRY_AFTER_S else {})
    return Response(200, "application/json", query.status_json(view_, raw_result),
                    headers=headers)


@cancel_router.delete(
    "/api/backtests/tasks/<task_id>", summary="Cancel a queued or running task",
    tags=["cancel"], responses=responses(TaskCreated, 400, 401, 404, 500),
)
def cancel_task(task_id: TaskId) -> TaskCreated:
    return cancel_uc.cancel(task_id, owner_of(cancel_router), services())


@history_router.get(
    "/api/backtests/history", summary="The caller's tasks, newest first", tags=["history"],
    responses=responses(HistoryPage, 401, 500),
)
def get_history(
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    strategy: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    status: Annotated[TaskStatus | None, Query()] = None,
) -> HistoryPage:
    return query.history(owner_of(history_router), services(), limit, cursor, strategy, status)


@results_router.get(
    "/api/backtests/<run_id>", summary="The result document (schema 1.3.0)", tags=["results"],
    responses=responses(ResultDocument, 401, 404, 500, redirect=True,
                        ok_description="The document (each metric's unit in its description)"),
    compress=True,  # gzip when the client sends Accept-Encoding: gzip (results can be MBs)
)
def get_result(run_id: TaskId, view: ViewQuery = ResultView.FULL) -> Response[Any]:
    if view is ResultView.SUMMARY:
        summary = query.result_summary(run_id, owner_of(results_router), services())
        return Response(200, "application/json", summary.decode())
    raw, url = query.result_bytes(run_id, owner_of(results_router), services())
    if url:
        return Response(302, "application/json", "", headers={"Location": url})
    return Response(200, "application/json", raw.decode())


@results_router.get(
    "/api/backtests/<run_id>/download", summary="Download the result as a file",
    tags=["results"],
    responses=responses(None, 401, 404, 500, redirect=True,
                        ok_description="The document as an attachment"),
    compress=True,
)
def download_result(run_id: TaskId) -> Response[Any]:
    raw, url = query.result_bytes(run_id, owner_of(results_router), services())
    if url:
        return Response(302, "application/json", "", headers={"Location": url})
    disposition = f'attachment; filename="backtest_{run_id}.json"'
    return Response(200, "application/json", raw.decode(),
                    headers={"Content-Disposition": disposition})


@results_router.get(
    "/api/backtests/<run_id>/trades.csv", summary="Every trade of the run as CSV",
    tags=["results"],
    responses=responses(None, 401, 404, 422, 500,
                        ok_description="text/csv: one row per trade of the headline portfolio"),
    compress=True,
)
def trades_csv(
    run_id: TaskId,
    symbol: Annotated[str | None, Query(max_length=100,
                                        description="That symbol's own portfolio trades")] = None,
) -> Response[Any]:
    body = query.result_trades_csv(run_id, owner_of(results_router), services(), symbol)
    disposition = f'attachment; filename="trades_{run_id}.csv"'
    return Response(200, "text/csv", body, headers={"Content-Disposition": disposition})


@health_router.get("/api/health", summary="Liveness", tags=["health"],
                   responses=responses(HealthView))
def health() -> HealthView:
    return HealthView(status="ok", timestamp=iso(datetime.now(UTC)))


