"""Strategy registry. Adding a strategy = adding one module here that defines ``STRATEGY``.

Modules whose name starts with ``_`` (kernels) and ``base`` are not strategies.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from pydantic import ValidationError

from ..errors import ParamsError
from .base import Signals, Strategy, StrategyParams, Tick

__all__ = ["Signals", "Strategy", "StrategyParams", "Tick", "catalog", "get", "parse_params",
           "registry"]


@cache
def registry() -> dict[str, Strategy]:
    """All strategies by name, sorted by name."""
    found: dict[str, Strategy] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        strategy = getattr(module, "STRATEGY", None)
        if isinstance(strategy, Strategy):
            found[strategy.name] = strategy
    return dict(sorted(found.items()))


def get(name: str) -> Strategy:
    """The strategy called ``name``; ParamsError at loc ["strategy"] if unknown."""
    strategies = registry()
    if name not in strategies:
        raise ParamsError.single(
            ["strategy"], f"Unknown strategy {name!r}; available: {sorted(strategies)}"
        )
    return strategies[name]


def parse_params(strategy: Strategy, params: object) -> StrategyParams:
    """Validate ``params`` (a dict) into the strategy's model.

    Raises ParamsError whose errors have ``loc`` like ``["params", "volume_window"]``.
    """
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParamsError.single(["params"], "params must be an object", "dict_type")
    try:
        return strategy.params_model.model_validate(params)
    except ValidationError as exc:
        raise ParamsError(
            [
                {"loc": ["params", *err["loc"]], "msg": err["msg"], "type": err["type"]}
                for err in exc.errors(include_url=False)
            ]
        ) from None


def catalog() -> list[dict]:
    """``[{name, description, params_schema, defaults}]`` for every strategy, by name."""
    return [
        {
            "name": s.name,
            "description": s.description,
            "params_schema": s.params_model.model_json_schema(),
            "defaults": s.params_model().model_dump(mode="json"),
        }
        for s in registry().values()
    ]
