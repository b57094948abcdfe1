"""Vectorised evaluation of a rule document over one symbol's bars: entry/exit masks.

Semantics (docs/rules.md): ``shift`` k is the value k bars earlier (NaN before the first
bar); division by 0 gives NaN and NaN propagates through arithmetic; a comparison or cross
reading a NaN is false (so ``not`` of it is true); ``crosses_above`` is a[t] > b[t] and
a[t−1] ≤ b[t−1] (false at t = 0); ``held`` c n is c on each of the bars t−n+1 … t.
Nothing in a document is ever executed as code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from backtest_contract.rules import IndicatorOperand, PriceOperand, RuleDocument
from backtest_contract.rules.nodes import (
    AllCondition,
    AnyCondition,
    HeldCondition,
    Node,
    NotCondition,
)

from ..candles import Candles
from ..indicators import IndicatorCache

Value = float | np.ndarray  # a constant stays a scalar until it meets a series


@dataclass(frozen=True)
class RuleMasks:
    """Per-bar booleans of one symbol: ``entry`` and ``exit`` (None without an exit rule)."""

    entry: np.ndarray
    exit: np.ndarray | None


def evaluate_rules(doc: RuleDocument, params: dict[str, Any], candles: Candles,
                   cache: IndicatorCache) -> RuleMasks:
    """Entry and exit masks of ``doc`` with ``params`` (missing ones take their defaults).

    ``cache`` must be the IndicatorCache of these ``candles``; reusing it across parameter
    sets (a sweep) computes every distinct indicator once.
    """
    ev = _Evaluator({**doc.defaults(), **params}, candles, cache)
    entry = np.ascontiguousarray(ev.mask(doc.entry))
    return RuleMasks(entry, None if doc.exit is None else np.ascontiguousarray(ev.mask(doc.exit)))


def evaluate_operand(operand: Any, params: dict[str, Any], candles: Candles,
                     cache: IndicatorCache) -> np.ndarray:
    """float64[n] values of a validated operand (a number, "$name" or an operand model)."""
    ev = _Evaluator(params, candles, cache)
    return np.broadcast_to(np.asarray(ev.value(operand), dtype=np.float64), len(candles)).copy()


def evaluate_condition(condition: Node, params: dict[str, Any], candles: Candles,
                       cache: IndicatorCache) -> np.ndarray:
    """bool[n] of a validated condition model."""
    return np.ascontiguousarray(_Evaluator(params, candles, cache).mask(condition))


_ARITHMETIC = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}
_COMPARE = {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}


class _Evaluator:
    def __init__(self, params: dict[str, Any], candles: Candles, cache: IndicatorCache):
        if cache.candles is not candles:
            raise ValueError("the IndicatorCache belongs to other candles")
        self.params, self.candles, self.cache, self.n = params, candles, cache, len(candles)

    def scalar(self, value: Any) -> Any:
        """A literal argument, or the value of its "$name" parameter."""
        if isinstance(value, str):
            try:
                return self.params[value[1:]]
            except KeyError:
                raise ValueError(f"no value for parameter {value}") from None
        return value

    def value(self, op: Any) -> Value:
        if isinstance(op, int | float | str):
            return float(self.scalar(op))
        if isinstance(op, PriceOperand):
            return _shift(self.cache.price(op.price), int(self.scalar(op.shift)))
        if isinstance(op, IndicatorOperand):
            outputs = self.cache.indicator(op.ind, self._args(op), *self._source(op))
            return _shift(outputs[op.output], int(self.scalar(op.shift)))
        a, b = (self.value(x) for x in op.pair)
        with np.errstate(all="ignore"):
            out = _ARITHMETIC[op.KEY](a, b)
            if op.KEY == "div":
                out = np.where(np.equal(b, 0), np.nan, out)
        return float(out) if np.ndim(out) == 0 else out

    def mask(self, c: Node) -> np.ndarray:
        if isinstance(c, AllCondition | AnyCondition):
            parts = iter(self.mask(x) for x in (c.all if isinstance(c, AllCondition) else c.any))
            out = next(parts).copy()
            for part in parts:
                (np.logical_and if isinstance(c, AllCondition) else np.logical_or)(
                    out, part, out=out)
            return out
        if isinstance(c, NotCondition):
            return ~self.mask(c.not_)
        if isinstance(c, HeldCondition):
            return _held(self.mask(c.held), int(self.scalar(c.bars)))
        a, b = (self.value(x) for x in c.pair)
        if c.KEY in _COMPARE:
            return self._full(_COMPARE[c.KEY](a, b))
        above = c.KEY == "crosses_above"
        a, b = self._full(a), self._full(b)
        now = np.greater(a, b) if above else np.less(a, b)
        out = np.zeros(self.n, dtype=bool)
        before = np.less_equal if above else np.greater_equal
        np.logical_and(now[1:], before(a[:-1], b[:-1]), out=out[1:])
        return out

    def _full(self, x: Value) -> np.ndarray:
        return np.broadcast_to(x, self.n) if np.ndim(x) == 0 else x

    def _args(self, op: IndicatorOperand) -> dict[str, Any]:
        kinds = {"int": int, "float": float, "bool": bool}
        return {key: kinds[spec.kind](self.scalar(value))
                for key, spec, value in op.scalar_args() if key != "shift"}

    def _source(self, op: IndicatorOperand):
        if "source" not in op.spec.args:
            return None, None
        source = op.source  # type: ignore[attr-defined]
        return (json.dumps(self.key(source), sort_keys=True, separators=(",", ":")),
                lambda: np.broadcast_to(self.value(source), self.n))

    def key(self, op: Any) -> Any:
        """The resolved operand as JSON-able data: equal keys mean equal values."""
        if isinstance(op, int | float | str):
            return float(self.scalar(op))
        if isinstance(op, PriceOperand):
            return {"price": op.price, "shift": int(self.scalar(op.shift))}
        if isinstance(op, IndicatorOperand):
            key = {"ind": op.ind, "output": op.output, "shift": int(self.scalar(op.shift)),
                   **self._args(op)}
            if "source" in op.spec.args:
                key["source"] = self.key(op.source)  # type: ignore[attr-defined]
            return key
        return {op.KEY: [self.key(x) for x in op.pair]}


def _shift(values: np.ndarray, k: int) -> np.ndarray:
    """``values`` k bars later: out[t] = values[t − k], NaN for t < k."""
    if k == 0:
        return values
    out = np.full(values.shape[0], np.nan)
    if k < values.shape[0]:
        out[k:] = values[:-k]
    return out


def _held(mask: np.ndarray, bars: int) -> np.ndarray:
    """True where ``mask`` holds on each of the last ``bars`` bars (the current included)."""
    count = np.cumsum(mask, dtype=np.int64)
    count[bars:] -= count[:-bars].copy()
    return count == bars
