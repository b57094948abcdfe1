"""Strategy catalog for the API functions, without loading the engine.

The strategies' parameter models live in the shared contract (``backtest_contract``),
which both the API and the engine import: params are validated here with the very models
the engine runs with, so the API answers 422 with the field before anything is queued.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import ValidationError

from backtest_contract.strategies import STRATEGIES
from backtest_core.errors import ValidationFailed
from backtest_core.quoting import quote


@cache
def load_catalog() -> tuple[dict[str, Any], ...]:
    """The catalog entries ``{name, description, params_schema, defaults}``, by name."""
    return tuple(s.catalog_entry() for s in STRATEGIES.values())


def strategy_names() -> list[str]:
    return list(STRATEGIES)


def validate_params(strategy: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check ``params`` against the strategy's model; return them with defaults filled in.

    Raises ValidationFailed with ``loc`` ``["body", "strategy"]`` or
    ``["body", "params", <name>]``.
    """
    if strategy not in STRATEGIES:
        raise ValidationFailed.single(
            ["body", "strategy"],
            f"Unknown strategy {quote(strategy)}; available: {', '.join(strategy_names())}",
        )
    try:
        model = STRATEGIES[strategy].params_model.model_validate(params)
    except ValidationError as exc:
        raise ValidationFailed(
            [
                {"loc": ["body", "params", *err["loc"]],
                 "msg": err["msg"].removeprefix("Value error, "), "type": err["type"]}
                for err in exc.errors()
            ]
        ) from None
    return model.model_dump()
