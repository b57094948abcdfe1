"""The one place that maps the error vocabulary to HTTP (every body is ``{"detail": ...}``).

Powertools 3.37's defaults differ from docs/api.md (its 404 is ``{"statusCode", "message"}``;
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
from pydantic import BaseModel

from backtest_core.errors import BacktestError, Unauthorized
from backtest_core.observability import logger
from backtest_core.quoting import quote_text

API_TITLE = "Async Backtest API"
API_VERSION = "1.3.0"
# docs/operations.md: operations appear in this order (OpenAPI paths and Swagger UI); a route names
# its tag with ``tags=[...]``, so a new route slots in without touching this module's code.
TAG_ORDER = ("submit", "status", "cancel", "results", "history", "sweeps", "data",
             "strategies", "health")
ANONYMOUS = "anonymous"
MAX_OWNER_CHARS = 256
_MSG_LIMIT = 500


class ErrorBody(BaseModel):
    """Every error but 422: ``{"detail": "Task not found: ..."}``."""

    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    """422: ``{"detail": [{"loc": ["body", "symbols", 0], "msg": "...", "type": "..."}]}``."""

    detail: list[FieldError]


_ERROR_DESCRIPTIONS = {
    400: "The request is not allowed in the task's current state",
    401: "The token has no usable subject (sub claim)",
    404: "Not found (unknown, expired or another owner's)",
    409: "Idempotency-Key reused with another body, or still in progress",
    413: "Too large",
    422: "Invalid input: each item names the field (loc) and the reason (msg)",
    429: "Throttled by the API's route limits",
    500: "Internal error",
}


def responses(ok: type[BaseModel] | None, *errors: int, ok_description: str = "OK",
              redirect: bool = False) -> dict[int, dict[str, Any]]:
    """OpenAPI ``responses`` of a route: 200 (``ok`` model, or any JSON object), 302 when
    the route may redirect to the stored document, 422, and each status in ``errors``,
    every error with its ``{"detail"}`` schema."""
    body: dict[str, Any] = {"model": ok} if ok else {"schema": {"type": "object"}}
    out: dict[int, dict[str, Any]] = {
        200: {"description": ok_description, "content": {"application/json": body}}}
    if redirect:
        out[302] = {"description": "Large document: Location is a short-lived download URL"}
    for status in sorted({422, *errors}):
        model = ValidationErrorBody if status == 422 else ErrorBody
        out[status] = {"description": _ERROR_DESCRIPTIONS[status],
                       "content": {"application/json": {"model": model}}}
    return out


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
        detail = exc.detail
        if isinstance(detail, list):  # ValidationFailed: the same bounded items as above
            detail = [_clean(item) for item in detail]
        return error_response(exc.status, detail)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        allowed = app.methods_of(app.current_event.path)
        if allowed:  # a known path with another method
            return error_response(405, "Method Not Allowed", {"Allow": ", ".join(allowed)})
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

    def methods_of(self, path: str) -> list[str]:
        """The methods of the most specific route path matching ``path`` (empty: unknown),
        as the OpenAPI document lists them: ``/api/backtests/run`` is POST only, although
        ``/api/backtests/{run_id}`` (GET) would match it too."""
        for routes in (self._static_routes, self._dynamic_routes):
            methods = {r.method for r in routes if r.rule.fullmatch(path)}
            if methods:
                return sorted(methods)
        return []

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Powertools' document with the paths in ``TAG_ORDER`` and the tags listed so."""
        # Imported here: the OpenAPI models cost ~0.15 s of import, never at cold start.
        from aws_lambda_powertools.event_handler.openapi.models import Tag

        schema = super().get_openapi_schema(**kwargs)
        paths = schema.paths or {}
        schema.paths = dict(sorted(paths.items(), key=lambda kv: _rank(_tags_of(kv[1]))))
        used = {tag for item in paths.values() for tag in _tags_of(item)}
        schema.tags = [Tag(name=tag) for tag in sorted(used, key=lambda t: _rank([t]))]
        return schema


def _tags_of(path_item: Any) -> list[str]:
    return [tag for op in path_item.model_dump(exclude_none=True).values()
            if isinstance(op, dict) for tag in op.get("tags", [])]


def _rank(tags: list[str]) -> int:
    """Position of the first of ``tags`` in TAG_ORDER (untagged and unknown tags last)."""
    return min((TAG_ORDER.index(t) for t in tags if t in TAG_ORDER), default=len(TAG_ORDER))


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
    elif "digits" in str(exc):  # Python's int/str conversion limit (4300 digits)
        msg = "Request body is not valid JSON: a number has too many digits"
    else:
        msg = "Request body is not valid JSON"
    return [{"loc": ["body"], "msg": msg, "type": "json_invalid"}]


def _clean(err: dict[str, Any]) -> dict[str, Any]:
    """One 422 item: ``loc``/``msg``/``type`` only, quoting at most 200 characters of input
    (a key of ``params`` or a message may carry it)."""
    msg = str(err.get("msg", "Invalid value")).removeprefix("Value error, ")
    loc = [quote_text(part) if isinstance(part, str) else part for part in err.get("loc", [])]
    if len(msg) > _MSG_LIMIT:
        msg = msg[:_MSG_LIMIT] + "..."
    return {"loc": loc, "msg": msg, "type": err.get("type", "value_error")}


def owner_of(app: APIGatewayHttpResolver) -> str:
    """The task owner: the authorizer's ``sub`` claim, or ``anonymous`` without an authorizer.

    With an authorizer, a token whose ``sub`` is missing, empty, ``anonymous`` or longer
    than 256 characters is refused (Unauthorized, 401): it must never share the
    authorizer-less owner or break a DynamoDB key.
    """
    context = app.current_event.raw_event.get("requestContext") or {}
    authorizer = context.get("authorizer")
    if not authorizer:
        return ANONYMOUS
    claims = (authorizer.get("jwt") or {}).get("claims") or authorizer.get("lambda") or {}
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str) or not sub.strip():
        raise Unauthorized("The token has no subject (sub claim)")
    if sub == ANONYMOUS:
        raise Unauthorized("The token's subject (sub claim) is reserved")
    if len(sub) > MAX_OWNER_CHARS:
        raise Unauthorized(f"The token's subject (sub claim) is longer than {MAX_OWNER_CHARS} "
                           "characters")
    return sub
