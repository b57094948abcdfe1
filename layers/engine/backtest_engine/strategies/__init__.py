"""Strategies: the built-ins (one module here each, defining ``STRATEGY``) and rule
documents (``rules.py``, docs/rules.md), both resolved through the shared contract's
registry (``backtest_contract.registry``) so that names, parameter models and the ``loc``
of parameter errors are decided in one place.

Modules whose name starts with ``_`` (kernels), ``base`` and ``rules`` are not built-ins.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any

from pydantic import BaseModel

from backtest_contract.registry import ParamsInvalid, StrategyRef, builtins
from backtest_contract.registry import resolve as resolve_ref

from ..errors import ParamsError
from .base import Masks, Strategy, Tick

__all__ = ["Masks", "Strategy", "Tick", "catalog", "get", "parse_params", "registry",
           "resolve"]
_NOT_BUILTINS = {"base", "rules"}


@cache
def registry() -> dict[str, Strategy]:
    """The built-in strategies by name, sorted by name."""
    found: dict[str, Strategy] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name in _NOT_BUILTINS:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        strategy = getattr(module, "STRATEGY", None)
        if isinstance(strategy, Strategy):
            found[strategy.name] = strategy
    return dict(sorted(found.items()))


def resolve(name: str | None, definition: Any = None) -> tuple[StrategyRef, Strategy]:
    """The contract's reference and the runnable strategy of a built-in ``name`` or a rule
    document ``definition``. Raises ParamsError (loc ``["strategy"]`` or
    ``["definition", ...]``)."""
    try:
        ref = resolve_ref(name, definition)
    except ParamsInvalid as exc:
        raise ParamsError(exc.errors) from None
    if ref.kind == "builtin":
        return ref, registry()[ref.name]
    return ref, _rules_strategy(ref)


def _rules_strategy(ref: StrategyRef) -> Strategy:
    """A rule document as a Strategy: masks from the vectorised evaluator, indicators from
    the symbol's cache (shared by every combination of a sweep)."""
    from ..indicators import IndicatorCache
    from .rules import evaluate_rules

    doc = ref.document

    def generate(candles, params: BaseModel, tick: Tick, cache=None) -> Masks:
        found = evaluate_rules(doc, params.model_dump(mode="json"), candles,
                               cache if cache is not None else IndicatorCache(candles))
        tick(len(candles))
        return Masks(entry=found.entry, exit=found.exit)

    return Strategy(name=ref.name, description=ref.description,
                    params_model=ref.params_model, generate=generate, ref=ref,
                    uses_cache=True)


def get(name: str) -> Strategy:
    """The built-in strategy called ``name``; ParamsError at loc ["strategy"] if unknown."""
    return resolve(name)[1]


def parse_params(strategy: Strategy, params: object) -> BaseModel:
    """Validate ``params`` (a dict) into the strategy's model (numeric strings coerced).

    Raises ParamsError whose errors have ``loc`` like ``["params", "volume_window"]``.
    """
    if params is None:
        params = {}
    ref = strategy.ref or StrategyRef(name=strategy.name, kind="builtin",
                                      description=strategy.description,
                                      params_model=strategy.params_model)
    try:
        values = ref.validate_params(params)
    except ParamsInvalid as exc:
        raise ParamsError(exc.errors) from None
    return strategy.params_model.model_validate(values)


def catalog() -> list[dict]:
    """``[{name, kind, version, description, params_schema, defaults}]`` of the built-ins."""
    return [ref.catalog_entry() for ref in builtins()]
