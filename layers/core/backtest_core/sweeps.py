"""Sweeps and fan-out shards (docs/sweeps.md): grid expansion, grid validation, the shard plan.

A sweep's combinations are the Cartesian product over the grid's keys in the order given,
the last key varying fastest. A shard is one symbol × a chunk of consecutive combinations;
shard ``i`` is symbol ``i // per_symbol``, chunk ``i % per_symbol`` of ``shard_size``
combinations. A fanned-out plain backtest has one shard per symbol (``shard_size`` 0).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from backtest_contract.position import apply_position_key
from backtest_contract.registry import ParamsInvalid, StrategyRef, resolve_position
from backtest_core.catalog import validate_params
from backtest_core.errors import ValidationFailed
from backtest_core.models import SweepRequest, TaskRecord, combination_count, estimated_candles
from backtest_core.walkforward import check_walk_forward

MAX_SHARDS = 2000  # items of one Map run; keeps the execution input far below 256 KB


def expand_grid(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``grid`` in grid order.

    >>> expand_grid({"a": [1, 2], "b": [3, 4]})
    [{'a': 1, 'b': 3}, {'a': 1, 'b': 4}, {'a': 2, 'b': 3}, {'a': 2, 'b': 4}]
    """
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def validated_sweep(request: SweepRequest, ref: StrategyRef) -> SweepRequest:
    """Check the base params and every grid value against the strategy's parameters;
    return the request with grid values coerced (``"10"`` → 10). A rule document's lengths
    depend on one parameter each, so checking each value checks every combination.

    Raises ValidationFailed with ``loc`` ``["body", "grid", key, index]`` for a bad value,
    or ``["body", "validation", "walk_forward", "folds"]`` when the window has too few bars
    for the folds (``walkforward.check_walk_forward``).
    """
    validate_params(ref, request.params)
    if request.validation is not None and request.validation.walk_forward is not None:
        check_walk_forward(window_bars(request), request.validation.walk_forward.folds)
    errors: list[dict[str, Any]] = []
    grid: dict[str, list[Any]] = {}
    for key, values in request.grid.items():
        grid[key] = []
        if key.startswith("position."):
            grid[key] = list(values)  # kept as given: the engine validates each combination
            errors.extend(_position_errors(request, ref, key, values))
            continue
        for index, value in enumerate(values):
            try:
                grid[key].append(validate_params(ref, {**request.params, key: value})[key])
            except ValidationFailed as exc:
                errors.extend({**err, "loc": ["body", "grid", key, index],
                               "msg": f"{key}={value!r}: {err['msg']}"}
                              for err in exc.detail)
    if errors:
        raise ValidationFailed(errors)
    return request.model_copy(update={"grid": grid})


def _position_errors(request: SweepRequest, ref: StrategyRef, key: str,
                     values: list[Any]) -> list[dict[str, Any]]:
    """A ``position.KEY[.SUBKEY]`` grid key: each value set on the request's position and
    checked as a whole position (docs/positions.md, "Sweeping the position"). Errors at
    ``["body", "grid", key]`` (no such key) or ``["body", "grid", key, index]``."""
    params = validate_params(ref, request.params)
    errors: list[dict[str, Any]] = []
    for index, value in enumerate(values):
        try:
            resolve_position(ref, params, apply_position_key(request.position or {}, key, value))
        except ParamsInvalid as exc:
            errors.extend({"loc": ["body", "grid", key, index], "type": err["type"],
                           "msg": f"{key}={value!r}: {err['msg']}"} for err in exc.errors)
        except ValueError as exc:  # the key itself is not a position key
            return [{"loc": ["body", "grid", key], "type": "value_error", "msg": str(exc)}]
    return errors


def window_bars(request: SweepRequest) -> int:
    """Bars of one symbol's full timeline in the request's window (whole days, UTC)."""
    return estimated_candles(request) // len(request.symbols)


def shard_plan(combinations: int, symbols: int, shard_combinations: int) -> tuple[int, int]:
    """``(shards_total, shard_size)``: chunks of at most ``shard_combinations`` per symbol,
    fewer and larger when symbols × chunks would exceed MAX_SHARDS.

    >>> shard_plan(64, 4, 32)
    (8, 32)
    """
    per_symbol = max(1, min(math.ceil(combinations / shard_combinations),
                            MAX_SHARDS // max(symbols, 1)))
    size = math.ceil(combinations / per_symbol)
    return symbols * math.ceil(combinations / size), size


@dataclass(frozen=True)
class ShardSpec:
    """What shard ``index`` runs: one symbol and (sweeps) its combinations."""

    index: int
    symbol: str
    combinations: list[dict[str, Any]] | None  # full params; None for a plain backtest
    first_combination: int = 0


def shard_spec(record: TaskRecord, index: int) -> ShardSpec:
    """Shard ``index`` of the record's plan (see the module docstring)."""
    request = record.request
    if not 0 <= index < record.shards_total:
        raise ValueError(f"shard {index} is not in 0..{record.shards_total - 1}")
    if not isinstance(request, SweepRequest):
        return ShardSpec(index, request.symbols[index], None)
    total = combination_count(request.grid)
    per_symbol = math.ceil(total / record.shard_size)
    start = (index % per_symbol) * record.shard_size
    chunk = expand_grid(request.grid)[start:start + record.shard_size]
    return ShardSpec(index, request.symbols[index // per_symbol],
                     [{**request.params, **combo} for combo in chunk], start)


def shards_of_symbol(record: TaskRecord, symbol_index: int) -> range:
    """Indices of the shards that run symbol ``symbol_index``."""
    per_symbol = record.shards_total // max(len(record.request.symbols), 1)
    return range(symbol_index * per_symbol, (symbol_index + 1) * per_symbol)
