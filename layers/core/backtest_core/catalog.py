"""Strategy resolution and the catalog for the API functions, without loading the engine.

Built-ins and rule documents are resolved by the shared contract's registry
(``backtest_contract.registry``), which the engine uses too: params are validated here with
the very models the engine runs with, so the API answers 422 with the field before anything
is queued. Saved rule documents are looked up in the owner's ``StrategyStore``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from backtest_contract.registry import (
    BUILTIN_NAMES,
    ParamsInvalid,
    StrategyRef,
    builtins,
    from_definition,
)
from backtest_contract.registry import resolve as resolve_ref
from backtest_core.errors import ValidationFailed


@cache
def load_catalog() -> tuple[dict[str, Any], ...]:
    """The built-ins' catalog entries ``{name, kind, version, description, params_schema,
    defaults}``, by name."""
    return tuple(ref.catalog_entry() for ref in builtins())


def strategy_names() -> list[str]:
    """The built-ins' names."""
    return list(BUILTIN_NAMES)


def body_errors(exc: ParamsInvalid) -> ValidationFailed:
    """The registry's errors (``loc`` relative to the body) as the API's 422."""
    return ValidationFailed([{**e, "loc": ["body", *e["loc"]]} for e in exc.errors])


def resolve(strategy: str | None, definition: Any) -> StrategyRef:
    """The strategy of a request body; ValidationFailed (``loc`` under ``body``) if unknown
    or if the document is invalid."""
    try:
        return resolve_ref(strategy, definition)
    except ParamsInvalid as exc:
        raise body_errors(exc) from None


def document_ref(document: Any) -> StrategyRef:
    """The strategy of a rule document that is the whole body (PUT /api/strategies/{name}):
    ValidationFailed with ``loc`` ``["body", <path inside the document>]``."""
    try:
        return from_definition(document, loc=())
    except ParamsInvalid as exc:
        raise body_errors(exc) from None


def validate_params(ref: StrategyRef, params: dict[str, Any],
                    loc: tuple[str | int, ...] = ("params",)) -> dict[str, Any]:
    """Check ``params`` against the strategy's model; return them with defaults filled in
    and coerced values (``"10"`` → 10). Raises ValidationFailed with ``loc``
    ``["body", "params", <name>]``."""
    try:
        return ref.validate_params(params, loc)
    except ParamsInvalid as exc:
        raise body_errors(exc) from None
