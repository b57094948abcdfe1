"""POST /api/backtests/run: a small backtest answered synchronously (no task is stored).

The engine is installed by the run_sync function (``use_engine``); the docs function
includes this router only for the OpenAPI document.
"""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import Router

from backtest_contract.encoding import encode_document
from backtest_core.api.resolver import owner_of, responses
from backtest_core.errors import PermanentTaskError, TooLargeForSync, ValidationFailed
from backtest_core.models import BacktestRequest, estimated_candles
from backtest_core.services import services
from backtest_core.usecases.strategies import resolve_request
from backtest_core.usecases.submit import check_stored

run_sync_router = Router()
_ENGINE: list[Any] = []


def use_engine(engine: Any) -> None:
    """Install the engine (called once by the run_sync function at cold start)."""
    _ENGINE[:] = [engine]


@run_sync_router.post(
    "/api/backtests/run", summary="Run a small backtest synchronously", tags=["submit"],
    responses=responses(None, 401, 413, 429, 500, ok_description="The result document"),
    compress=True,
)
def run_sync(request: BacktestRequest) -> Response[Any]:
    owner = owner_of(run_sync_router)  # no task is stored; a token without a usable sub: 401
    svc = services()
    request, _ = resolve_request(request, owner, svc)
    if estimated_candles(request) > svc.settings.sync_max_candles:
        raise TooLargeForSync()
    check_stored(request, svc)
    try:
        document = _ENGINE[0].run(
            request, svc.candles, run_id=str(uuid.uuid4()), progress=None,
            should_cancel=None, environment=svc.settings.environment, rows_as_json=True,
        )
    except PermanentTaskError as exc:
        raise ValidationFailed.single(["body"], str(exc), "data_error") from None
    return Response(200, "application/json", encode_document(document).decode())
