"""The ``position`` object: how entry/exit masks become trades (docs/positions.md).

``PositionSpec`` validates a request's (or a rule document's) ``position``; the engine's
simulator (``backtest_engine.sim``) runs with the very same model. Numbers follow the
parameter rules of ``strategies``: numeric strings are coerced, booleans are not numbers,
NaN and infinities are rejected, unknown keys are rejected at every level.

>>> PositionSpec.model_validate({"stop_loss": {"pct": "2"}}).stop_loss.pct
2.0
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    JsonValue,
    create_model,
    model_validator,
)
from pydantic import ValidationError as _ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError

from backtest_contract.strategies import Float, Int, _not_bool

_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)
ATR_LENGTH_DEFAULT = 14
MAX_TIME_EXIT_BARS = 10_000_000  # ~19 years of one-minute bars: past any series, no overflow


def _bounded(kind: type, **bounds: float) -> Any:
    """``Int``/``Float`` with bounds, for an optional field: the bounds sit on the number
    itself so that JSON Schema says ``minimum``/``exclusiveMaximum``… (on ``Int | None``
    pydantic would write them as unknown ``ge``/``lt`` keys)."""
    return Annotated[kind, Field(**bounds), BeforeValidator(_not_bool)]


def _fail(model: str, loc: tuple[str | int, ...], kind: str, message: str, value: Any) -> None:
    """Raise a one-item ValidationError at ``loc`` (relative to the model being validated)."""
    raise _ValidationError.from_exception_data(model, [InitErrorDetails(
        type=PydanticCustomError(kind, message), loc=loc, input=value)])


class StopLoss(BaseModel):
    """Fixed stop below the entry fill P: ``{"pct": x}`` → P·(1 − x/100), or
    ``{"atr": k, "length": L}`` → P − k·ATR(L) at the deciding bar (L defaults to 14)."""

    model_config = _CONFIG

    pct: _bounded(float, gt=0, lt=100) | None = Field(  # type: ignore[valid-type]
        None, description="percent below the entry fill")
    atr: _bounded(float, gt=0) | None = Field(  # type: ignore[valid-type]
        None, description="k: multiples of ATR below the fill")
    length: _bounded(int, ge=1, le=5000) | None = Field(  # type: ignore[valid-type]
        None, description="ATR length (atr only)")

    @model_validator(mode="after")
    def _one_kind(self) -> StopLoss:
        _exactly_one(self, "stop_loss", ("pct", "atr"))
        if self.atr is None and self.length is not None:
            _fail("StopLoss", ("length",), "length_without_atr", "length applies to atr only",
                  self.length)
        if self.atr is not None and self.length is None:
            self.length = ATR_LENGTH_DEFAULT
        return self


class TakeProfit(BaseModel):
    """Fixed target above the entry fill P: ``{"pct": x}`` → P·(1 + x/100),
    ``{"atr": k, "length": L}`` → P + k·ATR(L), ``{"rr": m}`` → P + m·(P − stop)
    (needs a ``stop_loss``)."""

    model_config = _CONFIG

    pct: _bounded(float, gt=0) | None = Field(  # type: ignore[valid-type]
        None, description="percent above the entry fill")
    atr: _bounded(float, gt=0) | None = Field(  # type: ignore[valid-type]
        None, description="k: multiples of ATR above the fill")
    length: _bounded(int, ge=1, le=5000) | None = Field(  # type: ignore[valid-type]
        None, description="ATR length (atr only)")
    rr: _bounded(float, gt=0) | None = Field(  # type: ignore[valid-type]
        None, description="m: reward/risk multiple of the stop")

    @model_validator(mode="after")
    def _one_kind(self) -> TakeProfit:
        _exactly_one(self, "take_profit", ("pct", "atr", "rr"))
        if self.atr is None and self.length is not None:
            _fail("TakeProfit", ("length",), "length_without_atr",
                  "length applies to atr only", self.length)
        if self.atr is not None and self.length is None:
            self.length = ATR_LENGTH_DEFAULT
        return self


class TrailingStop(BaseModel):
    """Trail ``pct`` below the highest high since entry, active once that peak is at least
    ``activation_pct`` above the entry fill (0 = active at once)."""

    model_config = _CONFIG

    pct: Float = Field(gt=0, lt=100, description="percent below the peak")
    activation_pct: Float = Field(0.0, ge=0, description="peak gain that arms the trail")


SizingMode = Literal["all_in", "fraction", "fixed_quote", "equal_slots"]
SizingShorthand = Literal["all_in", "equal_slots"]


def _mode_shorthand(value: Any) -> Any:
    """``"all_in"`` is short for ``{"mode": "all_in"}`` (also ``"equal_slots"``)."""
    return {"mode": value} if isinstance(value, str) else value


class Sizing(BaseModel):
    """How much each entry spends: ``all_in`` (all cash), ``fraction`` f of equity
    (0 < f ≤ 1), ``fixed_quote`` q in quote currency (q > 0), ``equal_slots`` (equity /
    max_open_positions). ``value`` is required by fraction and fixed_quote only."""

    model_config = _CONFIG

    mode: SizingMode = "all_in"
    value: _bounded(float, gt=0) | None = Field(  # type: ignore[valid-type]
        None, description="f (fraction) or q (fixed_quote)")

    @model_validator(mode="after")
    def _value_fits_mode(self) -> Sizing:
        needs_value = self.mode in ("fraction", "fixed_quote")
        if needs_value and self.value is None:
            _fail("Sizing", ("value",), "missing", f"value is required with mode {self.mode}",
                  None)
        if not needs_value and self.value is not None:
            _fail("Sizing", ("value",), "value_not_allowed",
                  f"value is not allowed with mode {self.mode}", self.value)
        if self.mode == "fraction" and self.value is not None and self.value > 1:
            _fail("Sizing", ("value",), "less_than_equal",
                  "Input should be less than or equal to 1", self.value)
        return self


class PositionSpec(BaseModel):
    """Execution, exits, sizing and the shared portfolio's limits (docs/positions.md).

    ``time_exit_bars`` None means no time exit (the caller puts a built-in's
    ``hold_period_bars`` here). ``max_open_positions`` and ``initial_capital`` apply to the
    shared portfolio; the per-symbol portfolio has capital 1.0 and one position.
    """

    model_config = _CONFIG

    execution: Literal["close", "next_open"] = Field(
        "close", description="close: fill at the deciding bar's close; next_open: next open")
    stop_loss: StopLoss | None = None
    take_profit: TakeProfit | None = None
    trailing_stop: TrailingStop | None = None
    time_exit_bars: _bounded(int, ge=1, le=MAX_TIME_EXIT_BARS) | None = Field(  # type: ignore[valid-type]
        None, description="H: exit H bars after entry")
    sizing: Annotated[Sizing, BeforeValidator(_mode_shorthand)] = Field(default_factory=Sizing)
    max_open_positions: Int = Field(1, ge=1, le=50, description="shared portfolio slots")
    initial_capital: Float = Field(10000.0, gt=0, description="shared portfolio cash (quote)")
    entry_priority: JsonValue | None = Field(
        None, description="an operand (rule documents' operand grammar): when more symbols "
        "want to enter than slots are free, higher first; ties and null in request order")

    @model_validator(mode="after")
    def _rr_needs_stop(self) -> PositionSpec:
        if self.take_profit is not None and self.take_profit.rr is not None \
                and self.stop_loss is None:
            _fail("PositionSpec", ("take_profit", "rr"), "rr_needs_stop_loss",
                  "take_profit rr needs a stop_loss", self.take_profit.rr)
        return self


def _exactly_one(model: BaseModel, name: str, kinds: tuple[str, ...]) -> None:
    given = [k for k in kinds if getattr(model, k) is not None]
    if len(given) != 1:
        listed = " | ".join(kinds)
        message = (f"{name} needs one of {listed}" if not given
                   else f"{name} takes one of {listed}, not {' and '.join(given)}")
        _fail(type(model).__name__, (), "one_kind", message, model.model_dump(exclude_none=True))


@cache
def position_input_model() -> type[BaseModel]:
    """The ``position`` a request or a rule document gives, as published in the schemas
    (GET /api/strategies/schema, /api/openapi.json): every key of ``PositionSpec``, each
    optional (a partial override of the defaults), ``null`` where the key may be unset,
    ``sizing`` also as its string shorthand, ``entry_priority`` as a rule operand, no
    other key. Only for the schemas: the API validates the merged position with
    ``PositionSpec`` (``registry.resolve_position``), which also checks what a schema
    cannot say (``take_profit.rr`` needs a ``stop_loss``, one kind of stop, …)."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in PositionSpec.model_fields.items()}
    fields["sizing"] = (SizingShorthand | Sizing, Field(
        "all_in", description='how much each entry spends; "all_in" and "equal_slots" '
        'are short for {"mode": "all_in"} and {"mode": "equal_slots"}'))
    # An operand object is described by its keys' names only: the operand grammar (dozens
    # of indicator shapes, published whole at GET /api/strategies/schema) inlined here made
    # request bodies' schemas too heavy for fuzzers and code generators.
    fields["entry_priority"] = (float | str | dict[str, JsonValue] | None, Field(
        None, description=PositionSpec.model_fields["entry_priority"].description
        + '; e.g. {"ind": "rsi", "length": 14} or {"price": "volume"} (docs/rules.md)'))
    return create_model("Position", __config__=_CONFIG, __doc__=(
        "Position configuration (docs/positions.md). Over a rule document's position, "
        "each key given replaces the document's whole value"), **fields)


class PositionSchema:
    """Marks a free-form ``position`` object (validated later, over the strategy's
    defaults) so that JSON Schema describes it as ``position_input_model()``."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(position_input_model().__pydantic_core_schema__)


PositionInput = Annotated[dict[str, Any], PositionSchema()]
"""A request's or a rule document's ``position``: a JSON object here (merged key by key
over the defaults, then validated with ``PositionSpec``), the real shape in its schema."""


def merge_position(defaults: dict | None, request: dict | None) -> dict:
    """A rule document's ``position`` defaults overlaid by the request's, top-level key by key:
    a key the request gives (even ``null``) replaces the default's whole value.

    >>> merge_position({"stop_loss": {"pct": 3}, "execution": "next_open"},
    ...                {"stop_loss": {"atr": 2}})
    {'stop_loss': {'atr': 2}, 'execution': 'next_open'}
    """
    return copy.deepcopy({**(defaults or {}), **(request or {})})


_NESTED: dict[str, type[BaseModel]] = {
    "stop_loss": StopLoss, "take_profit": TakeProfit, "trailing_stop": TrailingStop,
    "sizing": Sizing,
}


def apply_position_key(position: dict, key: str, value: Any) -> dict:
    """A copy of ``position`` with a sweep grid key set: ``"position.KEY"`` or
    ``"position.KEY.SUBKEY"`` (a missing object is created). The value is not validated
    here (validate the result with ``PositionSpec``). Raises ValueError naming ``key``
    when it is not a key of the model.

    >>> apply_position_key({}, "position.stop_loss.pct", 2)
    {'stop_loss': {'pct': 2}}
    """
    parts = key.split(".")
    top = PositionSpec.model_fields
    if len(parts) not in (2, 3) or parts[0] != "position" or parts[1] not in top:
        raise ValueError(f"unknown position key {key!r}: expected position.KEY with KEY one "
                         f"of {', '.join(top)}")
    out = copy.deepcopy(position)
    if len(parts) == 2:
        out[parts[1]] = value
        return out
    nested = _NESTED.get(parts[1])
    if nested is None:
        raise ValueError(f"unknown position key {key!r}: position.{parts[1]} has no sub-keys")
    if parts[2] not in nested.model_fields:
        known = ", ".join(f"position.{parts[1]}.{sub}" for sub in nested.model_fields)
        raise ValueError(f"unknown position key {key!r}: expected one of {known}")
    inner = out.get(parts[1])
    if isinstance(inner, str) and parts[1] == "sizing":
        inner = {"mode": inner}
    out[parts[1]] = {**(inner if isinstance(inner, dict) else {}), parts[2]: value}
    return out
