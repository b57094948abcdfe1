"""The one place that maps the error vocabulary to HTTP (every body is ``{"detail": ...}``).

Powertools 3.37's defaults differ from SPEC §5 (its 404 is ``{"statusCode", "message"}``;
its 422 items carry pydantic extras), so every error goes through these handlers.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.router import Router

from backtest_core.errors import BacktestError
from backtest_core.observability import logger

API_TITLE = "Async Backtest API"
API_VERSION = "1.2.0"


def error_response(status: int, detail: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status, content_type="application/json",
        body=json.dumps({"detail": detail}), headers=headers,
    )


def make_resolver(*routers: Router) -> APIGatewayHttpResolver:
    """A validating HTTP API resolver with the given routers and the service's error mapping."""
    app = _Resolver(enable_validation=True)
    for router in routers:
        app.include_router(router)
    # Runs right after Powertools' request validation: marks the request as read.
    app.use(middlewares=[_mark_request_read])

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        return error_response(422, [_clean(err) for err in exc.errors()])

    @app.exception_handler([RequestUnsupportedContentType, ValueError, RecursionError])
    def _unreadable(exc: Exception) -> Response:
        # Powertools' validation lets these escape while it reads the request (a body that is
        # not UTF-8, JSON nested too deep or with a 5000-digit number, a content type it
        # cannot parse, multipart without boundary): bad input, so 422, never 500.
        if _REQUEST_READ.get():
            return _unexpected(exc)
        return error_response(422, _unreadable_errors(exc))

    @app.exception_handler(BacktestError)
    def _known(exc: BacktestError) -> Response:
        if exc.status >= 500:
            logger.exception("request failed")
        return error_response(exc.status, exc.detail)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        return error_response(404, "Not Found")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(500, "Internal server error")

    return app


# Per request and per thread (the local stack serves concurrent requests from one resolver):
# False while Powertools reads and validates the request, True once the route runs.
_REQUEST_READ: ContextVar[bool] = ContextVar("backtest_request_read", default=False)


class _Resolver(APIGatewayHttpResolver):
    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        token = _REQUEST_READ.set(False)
        try:
            return super().resolve(event, context)
        finally:
            _REQUEST_READ.reset(token)


def _mark_request_read(app: APIGatewayHttpResolver, next_middleware: Any) -> Response:
    _REQUEST_READ.set(True)
    return next_middleware(app)


def _unreadable_errors(exc: Exception) -> list[dict[str, Any]]:
    if isinstance(exc, RequestUnsupportedContentType):
        return [_clean(err) for err in exc.errors()]
    if isinstance(exc, UnicodeError):
        msg = "Request body is not valid UTF-8"
    elif isinstance(exc, RecursionError):
        msg = "JSON nested too deeply"
    else:
        msg = f"Unreadable request body: {exc}"
    return [{"loc": ["body"], "msg": msg, "type": "json_invalid"}]


def _clean(err: dict[str, Any]) -> dict[str, Any]:
    msg = str(err.get("msg", "Invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return {"loc": list(err.get("loc", [])), "msg": msg, "type": err.get("type", "value_error")}


def owner_of(app: APIGatewayHttpResolver) -> str:
    """The task owner: the authorizer's ``sub`` claim, or ``anonymous`` without an authorizer."""
    context = app.current_event.raw_event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or authorizer.get("lambda") or {}
    return str(claims.get("sub") or "anonymous")
