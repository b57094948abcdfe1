"""A per-row reference evaluator of rule documents (docs/rules.md), written for clarity,
not speed: every condition and operand is evaluated bar by bar with plain Python floats.
Indicator series come from the engine's ``compute`` (their parity with TA-Lib is tested
separately), so this checks the document logic: shifts, arithmetic, NaN, crosses, held."""

from __future__ import annotations

import math
from typing import Any

from backtest_contract.rules import IndicatorOperand, PriceOperand
from backtest_contract.rules.nodes import AllCondition, AnyCondition, HeldCondition, NotCondition
from backtest_engine.candles import Candles
from backtest_engine.indicators import compute

NAN = float("nan")


class Reference:
    def __init__(self, params: dict[str, Any], candles: Candles):
        self.params, self.c, self.n = params, candles, len(candles)

    def scalar(self, v: Any) -> Any:
        return self.params[v[1:]] if isinstance(v, str) else v

    def price(self, field: str, t: int) -> float:
        c = self.c
        o, h, lo, cl = c.open[t], c.high[t], c.low[t], c.close[t]
        return {"open": o, "high": h, "low": lo, "close": cl, "volume": c.volume[t],
                "hl2": (h + lo) / 2, "hlc3": (h + lo + cl) / 3,
                "ohlc4": (o + h + lo + cl) / 4}[field]

    def value(self, op: Any, t: int) -> float:
        if isinstance(op, int | float | str):
            return float(self.scalar(op))
        if isinstance(op, PriceOperand):
            k = int(self.scalar(op.shift))
            return NAN if t - k < 0 else float(self.price(op.price, t - k))
        if isinstance(op, IndicatorOperand):
            k = int(self.scalar(op.shift))
            if t - k < 0:
                return NAN
            source = None
            if "source" in op.spec.args:
                import numpy as np
                source = np.array([self.value(op.source, i) for i in range(self.n)])
            args = {key: self.scalar(v) for key, _spec, v in op.scalar_args() if key != "shift"}
            return float(compute(op.ind, args, source, self.c)[op.output][t - k])
        a, b = (self.value(x, t) for x in op.pair)
        if op.KEY == "add":
            return a + b
        if op.KEY == "sub":
            return a - b
        if op.KEY == "mul":
            return a * b
        return NAN if b == 0 or math.isnan(b) or math.isnan(a) else a / b

    def holds(self, c: Any, t: int) -> bool:
        if isinstance(c, AllCondition):
            return all(self.holds(x, t) for x in c.all)
        if isinstance(c, AnyCondition):
            return any(self.holds(x, t) for x in c.any)
        if isinstance(c, NotCondition):
            return not self.holds(c.not_, t)
        if isinstance(c, HeldCondition):
            bars = int(self.scalar(c.bars))
            return t - bars + 1 >= 0 and all(self.holds(c.held, i)
                                             for i in range(t - bars + 1, t + 1))
        a, b = (self.value(x, t) for x in c.pair)
        if math.isnan(a) or math.isnan(b):
            return False
        key = c.KEY
        if key in ("gt", "gte", "lt", "lte"):
            return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[key]
        if t == 0:
            return False
        a0, b0 = (self.value(x, t - 1) for x in c.pair)
        if math.isnan(a0) or math.isnan(b0):
            return False
        return a > b and a0 <= b0 if key == "crosses_above" else a < b and a0 >= b0

    def mask(self, c: Any) -> list[bool]:
        return [self.holds(c, t) for t in range(self.n)]
