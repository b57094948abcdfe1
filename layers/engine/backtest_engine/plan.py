"""From a validated run to what the simulator needs: the position configuration and each
symbol's bars with its masks, priorities and ATR series (docs/positions.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from backtest_contract.position import PositionSpec
from backtest_contract.registry import (
    ParamsInvalid,
    StrategyRef,
    priority_operand,
    resolve_position,
)

from .errors import ParamsError
from .indicators import IndicatorCache
from .loading import SymbolData
from .sim import SymbolBars, compute_atrs
from .strategies import Masks


@dataclass(frozen=True)
class RunPlan:
    """A run's strategy, validated parameters (model and JSON values) and position."""

    ref: StrategyRef
    params: BaseModel
    values: dict[str, Any]
    position: PositionSpec

    @property
    def hold_bars(self) -> int:
        """H of a built-in's signal statistics (0 for rule documents)."""
        return int(self.values.get("hold_period_bars", 0) or 0)


def run_plan(ref: StrategyRef, params: BaseModel, position: Any) -> RunPlan:
    """The plan of a run; ParamsError at ``["position", ...]`` for a bad position."""
    values = params.model_dump(mode="json")
    try:
        spec = resolve_position(ref, values, position)
    except ParamsInvalid as exc:
        raise ParamsError(exc.errors) from None
    return RunPlan(ref, params, values, spec)


def symbol_bars(data: SymbolData, masks: Masks, plan: RunPlan,
                cache: IndicatorCache | None = None) -> SymbolBars:
    """The simulator's input for one symbol (``cache``: that symbol's indicator cache, so an
    ``entry_priority`` indicator the rules already computed is not computed again)."""
    c = data.candles
    priority = None
    if plan.position.entry_priority is not None:
        from .strategies.rules import evaluate_operand

        operand = priority_operand(plan.position.entry_priority)
        priority = evaluate_operand(operand, plan.values, c, cache or IndicatorCache(c))
    atr = compute_atrs(c.high, c.low, c.close, plan.position)
    return SymbolBars(data.symbol, c.ts_ns, c.open, c.high, c.low, c.close,
                      entry=np.asarray(masks.entry, dtype=bool),
                      exit=None if masks.exit is None else np.asarray(masks.exit, dtype=bool),
                      priority=priority, atr=atr)
