"""Strategy catalog for the API functions, without loading the engine.

``strategy_catalog.json`` is generated from the engine's parameter models
(``python -m backtest_engine.adapter --write-catalog``); a unit test fails when it drifts.
Parameters are validated here with pydantic models rebuilt from that JSON Schema, so the
API answers 422 with the field before anything is queued.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    create_model,
)

from backtest_core.errors import ValidationFailed
from backtest_core.quoting import quote


def _not_bool(value: Any) -> Any:
    """JSON ``true`` is not the number 1 (pydantic's lax mode would take it)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    return value


_TYPES: dict[str, Any] = {
    "integer": Annotated[int, BeforeValidator(_not_bool)],
    "number": Annotated[float, BeforeValidator(_not_bool)],
    "boolean": StrictBool,
    "string": str,
}
_BOUNDS = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt"}


@cache
def load_catalog() -> tuple[dict[str, Any], ...]:
    """The catalog entries ``{name, description, params_schema, defaults}``, in order."""
    text = resources.files("backtest_core").joinpath("strategy_catalog.json").read_text()
    return tuple(json.loads(text))


def strategy_names() -> list[str]:
    return [entry["name"] for entry in load_catalog()]


@cache
def _params_model(strategy: str) -> type[BaseModel]:
    entry = next(e for e in load_catalog() if e["name"] == strategy)
    fields: dict[str, Any] = {}
    for name, prop in entry["params_schema"].get("properties", {}).items():
        bounds = {_BOUNDS[k]: v for k, v in prop.items() if k in _BOUNDS}
        fields[name] = (_TYPES[prop["type"]], Field(default=prop.get("default"), **bounds))
    return create_model(
        f"{strategy}_params", __config__=ConfigDict(extra="forbid"), **fields
    )


def validate_params(strategy: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check ``params`` against the strategy's schema; return them with defaults filled in.

    Raises ValidationFailed with ``loc`` ``["body", "strategy"]`` or
    ``["body", "params", <name>]``.
    """
    if strategy not in strategy_names():
        raise ValidationFailed.single(
            ["body", "strategy"],
            f"Unknown strategy {quote(strategy)}; available: {', '.join(strategy_names())}",
        )
    try:
        model = _params_model(strategy).model_validate(params)
    except ValidationError as exc:
        raise ValidationFailed(
            [
                {"loc": ["body", "params", *err["loc"]],
                 "msg": err["msg"].removeprefix("Value error, "), "type": err["type"]}
                for err in exc.errors()
            ]
        ) from None
    return model.model_dump()
