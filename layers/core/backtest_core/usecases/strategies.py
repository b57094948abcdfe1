"""Saved strategies (rule documents per owner) and the resolution of a request's strategy.

``resolve_request`` is what every submit (run, run-async, sweeps) calls first: a saved
strategy's name is replaced by its document, so the task stores what it will run and a
later edit or delete changes no queued or finished run. See docs/rules.md.
"""

from __future__ import annotations

from typing import Any

from backtest_contract.registry import (
    BUILTIN_NAMES,
    ParamsInvalid,
    StrategyRef,
    builtin,
    resolve_position,
)
from backtest_contract.rules import MAX_DOCUMENT_BYTES, canonical_json
from backtest_core.catalog import (
    body_errors,
    document_ref,
    load_catalog,
    resolve,
    validate_params,
)
from backtest_core.errors import (
    DocumentTooLarge,
    StrategyConflict,
    StrategyNotFound,
    ValidationFailed,
)
from backtest_core.models import BacktestRequest
from backtest_core.services import Services
from backtest_core.strategy_store import MAX_PER_OWNER, StrategyLimitReached
from backtest_core.timeutil import iso

__all__ = ["MAX_DOCUMENT_BYTES", "catalog", "delete", "get", "resolve_request", "save"]
RESERVED_NAMES = frozenset({"schema"})  # GET /api/strategies/schema is the JSON Schema


def check_size(document: Any) -> None:
    """413 for a document whose canonical JSON is over the limit (before anything else)."""
    size = len(canonical_json(document).encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge(size, MAX_DOCUMENT_BYTES)


def resolve_request(request: BacktestRequest, owner: str,
                    svc: Services) -> tuple[BacktestRequest, StrategyRef]:
    """The request with a saved strategy's document inlined, its strategy, and its params
    validated (coerced values, so results echo numbers as numbers); its ``position``
    (over a rule document's defaults, docs/positions.md) is checked too, so a bad one is a
    422 at ``["body", "position", ...]`` before anything is queued."""
    if request.definition is not None:
        check_size(request.definition)
    elif builtin(request.strategy or "") is None:
        saved = svc.strategies.get(owner, request.strategy or "")
        if saved is None:
            known = [*BUILTIN_NAMES, *(s.name for s in svc.strategies.list(owner))]
            raise ValidationFailed.single(
                ["body", "strategy"],
                f"Unknown strategy {request.strategy!r}; available: {', '.join(known)}")
        request = request.model_copy(update={"strategy": None, "definition": saved.document})
    ref = resolve(request.strategy, request.definition)
    validated = validate_params(ref, request.params)
    check_position(ref, validated, request.position)
    # The given keys only, with their validated values: the task record, the result and a
    # sweep's leaderboard echo 20 for "20" (README, "Input values").
    params = {key: validated.get(key, value) for key, value in (request.params or {}).items()}
    if params != request.params:
        request = request.model_copy(update={"params": params})
    return request, ref


def check_position(ref: StrategyRef, params: dict[str, Any], position: Any) -> None:
    """ValidationFailed (``loc`` under ``body``) when ``position`` over the strategy's
    defaults is not a valid position (docs/positions.md, "Configuration")."""
    try:
        resolve_position(ref, params, position)
    except ParamsInvalid as exc:
        raise body_errors(exc) from None


def check_document_position(ref: StrategyRef) -> None:
    """ValidationFailed at ``["body", "position", ...]`` when a document's own ``position``
    (with its parameters' defaults) is not a valid position: a saved document must run as
    saved (docs/rules.md, "Saved strategies")."""
    try:
        resolve_position(ref, ref.validate_params({}), None)
    except ParamsInvalid as exc:  # loc ["definition", "position", ...]: the body is the document
        raise ValidationFailed([{**e, "loc": ["body", *e["loc"][1:]]} for e in exc.errors]
                               ) from None


def save(name: str, document: Any, owner: str, svc: Services) -> dict[str, Any]:
    """Save ``document`` as ``name``: ``{name, version, created_at}``."""
    check_size(document)
    if name in BUILTIN_NAMES or name in RESERVED_NAMES:
        raise StrategyConflict(f"{name!r} is the name of a built-in strategy" if name in
                               BUILTIN_NAMES else f"{name!r} is a reserved name")
    ref = document_ref(document)
    check_document_position(ref)
    if ref.name != name:
        raise ValidationFailed.single(
            ["body", "name"], f"the document's name {ref.name!r} differs from the path's "
                              f"{name!r}")
    if not svc.strategies.enabled:
        raise StrategyConflict("saved strategies are not configured (STRATEGIES_TABLE)")
    try:
        saved = svc.strategies.put(owner, name, document, ref.version or "", iso(svc.clock()))
    except StrategyLimitReached:
        raise StrategyConflict(f"at most {MAX_PER_OWNER} saved strategies per owner; delete "
                               f"one first") from None
    return {"name": saved.name, "version": saved.version, "created_at": saved.created_at}


def get(name: str, owner: str, svc: Services) -> dict[str, Any]:
    """The saved document; StrategyNotFound for a missing or another owner's name."""
    saved = svc.strategies.get(owner, name)
    if saved is None:
        raise StrategyNotFound(name)
    return saved.document


def delete(name: str, owner: str, svc: Services) -> None:
    if not svc.strategies.delete(owner, name):
        raise StrategyNotFound(name)


def catalog(owner: str, svc: Services) -> dict[str, Any]:
    """``{strategies, count, details}``: the built-ins, then the owner's saved ones."""
    details = [dict(entry) for entry in load_catalog()]
    for saved in svc.strategies.list(owner):
        try:
            details.append(document_ref(saved.document).catalog_entry())
        except ValidationFailed:  # saved by an older, looser version: listed, not runnable
            details.append({"name": saved.name, "kind": "rules", "version": saved.version,
                            "description": "(no longer valid)", "params_schema": {},
                            "defaults": {}})
    return {"strategies": [d["name"] for d in details], "count": len(details),
            "details": details}
