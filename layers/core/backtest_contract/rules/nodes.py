"""The nodes of a rule document: operands (a number per bar) and conditions (true/false per
bar), as pydantic models. The format is described in docs/rules.md.

Every JSON object is recognised by its one identifying key (``{"gt": …}``, ``{"ind": …}``)
through a callable discriminator; pydantic then reports errors under synthetic tag segments
(``"<gt>"``, ``"<ind:rsi>"``), listed in ``TAGS`` so that ``errors.py`` can drop them and
give the plain JSON path inside the document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    StringConstraints,
    Tag,
    WithJsonSchema,
    create_model,
)

from .catalog import INDICATORS, MAX_LENGTH, PRICE_FIELDS, ArgSpec, IndicatorSpec

PARAM_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,47}$"
ParamRef = Annotated[str, StringConstraints(pattern=r"^\$[A-Za-z_][A-Za-z0-9_]{0,47}$")]
"""``"$name"``: the value of the document's parameter ``name``."""
SHIFT = ArgSpec("int", 0, 0, MAX_LENGTH)
BARS = ArgSpec("int", None, 1, MAX_LENGTH)

TAGS: set[str] = set()
"""The synthetic loc segments of the tagged unions (never part of a document's JSON path)."""
_Strict = Strict()


def _tag(name: str) -> Tag:
    TAGS.add(name)
    return Tag(name)


def _scalar_tag(value: Any) -> str | None:
    if isinstance(value, bool):
        return "<bool>"
    if isinstance(value, int):
        return "<int>"
    if isinstance(value, float):
        return "<float>"
    return "<$param>" if isinstance(value, str) else None


def discriminator(scalars: set[str], keys: dict[str, str] | None = None) -> Callable:
    """Tag of a value: a scalar's type among ``scalars``, or the first known key of an
    object; None (pydantic's "tag not found", reworded by errors.py) otherwise."""
    def discriminate(value: Any) -> str | None:
        if isinstance(value, BaseModel):
            return _model_tag(value)
        if isinstance(value, dict):
            return next((keys[k] for k in value if keys and k in keys), None)
        tag = _scalar_tag(value)
        return tag if tag in scalars else None
    return discriminate


def _model_tag(model: BaseModel) -> str | None:
    if isinstance(model, IndicatorOperand):
        return f"<ind:{model.ind}>"
    return getattr(model, "TAG", None)


def tagged_union(members: dict[str, Any], discriminate: Callable, error: str, message: str) -> Any:
    options = tuple(Annotated[kind, _tag(tag)] for tag, kind in members.items())
    return Annotated[Union[options],  # noqa: UP007 (a runtime-built union)
                     Discriminator(discriminate, custom_error_type=error,
                                   custom_error_message=message)]


_INT = Annotated[int, _Strict]
# A JSON float such as 30.0 also matches "integer" in JSON Schema; keep the branches disjoint.
_FLOAT = Annotated[float, _Strict, Field(allow_inf_nan=False),
                   WithJsonSchema({"type": "number", "not": {"type": "integer"}})]


def arg_type(spec: ArgSpec) -> Any:
    """The pydantic type of an indicator argument: a literal within bounds, or ``"$name"``."""
    if spec.kind == "bool":
        return tagged_union({"<bool>": Annotated[bool, _Strict], "<$param>": ParamRef},
                      discriminator({"<bool>", "<$param>"}), "rule_arg_type",
                      'expected true, false or a "$name" parameter')
    if spec.kind == "int":
        literal: Any = Annotated[int, _Strict, Field(ge=spec.min, le=spec.max)]
        return tagged_union({"<int>": literal, "<$param>": ParamRef},
                      discriminator({"<int>", "<$param>"}), "rule_arg_type",
                      'expected an integer or a "$name" parameter')
    low = {"gt": spec.min} if spec.exclusive_min else {"ge": spec.min}
    return tagged_union({"<int>": Annotated[int, _Strict, Field(**low, le=spec.max)],
                   "<float>": Annotated[_FLOAT, Field(**low, le=spec.max)],
                   "<$param>": ParamRef},
                  discriminator({"<int>", "<float>", "<$param>"}), "rule_arg_type",
                  'expected a number or a "$name" parameter')


Shift = arg_type(SHIFT)


class Node(BaseModel):
    """Base of every document object: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)
    TAG: ClassVar[str] = ""

    def children(self) -> list[tuple[tuple[str | int, ...], Any]]:
        """(relative JSON path, child node) of the operands and conditions inside."""
        return []

    def scalar_args(self) -> list[tuple[str, ArgSpec, Any]]:
        """(key, spec, literal or "$name") of the node's numeric/bool arguments."""
        return []


class PriceOperand(Node):
    """``{"price": "close", "shift": 0}``: a price column (or hl2/hlc3/ohlc4) k bars earlier."""

    TAG: ClassVar[str] = "<price>"
    price: Literal[PRICE_FIELDS]  # type: ignore[valid-type]
    shift: Shift = 0

    def scalar_args(self):
        return [("shift", SHIFT, self.shift)]


class IndicatorOperand(Node):
    """``{"ind": NAME, ARGS…, "output": O, "shift": k}`` (one subclass per indicator)."""

    ind: str

    @property
    def spec(self) -> IndicatorSpec:
        return INDICATORS[self.ind]

    def children(self):
        return [(("source",), self.source)] if "source" in self.spec.args else []  # type: ignore[attr-defined]

    def scalar_args(self):
        args = [(k, a, getattr(self, k)) for k, a in self.spec.args.items() if a.kind != "source"]
        return [*args, ("shift", SHIFT, self.shift)]  # type: ignore[attr-defined]


class _Pair(Node):
    KEY: ClassVar[str] = ""

    @property
    def pair(self) -> tuple[Any, Any]:
        return getattr(self, self.KEY)

    def children(self):
        return [((self.KEY, i), x) for i, x in enumerate(self.pair)]


class AddOperand(_Pair):
    TAG, KEY = "<add>", "add"
    add: tuple[Operand, Operand]


class SubOperand(_Pair):
    TAG, KEY = "<sub>", "sub"
    sub: tuple[Operand, Operand]


class MulOperand(_Pair):
    TAG, KEY = "<mul>", "mul"
    mul: tuple[Operand, Operand]


class DivOperand(_Pair):
    """``a / b``; NaN where b is 0."""

    TAG, KEY = "<div>", "div"
    div: tuple[Operand, Operand]


class GtCondition(_Pair):
    TAG, KEY = "<gt>", "gt"
    gt: tuple[Operand, Operand]


class GteCondition(_Pair):
    TAG, KEY = "<gte>", "gte"
    gte: tuple[Operand, Operand]


class LtCondition(_Pair):
    TAG, KEY = "<lt>", "lt"
    lt: tuple[Operand, Operand]


class LteCondition(_Pair):
    TAG, KEY = "<lte>", "lte"
    lte: tuple[Operand, Operand]


class CrossesAboveCondition(_Pair):
    """a[t] > b[t] and a[t−1] ≤ b[t−1]; false at t = 0."""

    TAG, KEY = "<crosses_above>", "crosses_above"
    crosses_above: tuple[Operand, Operand]


class CrossesBelowCondition(_Pair):
    """a[t] < b[t] and a[t−1] ≥ b[t−1]; false at t = 0."""

    TAG, KEY = "<crosses_below>", "crosses_below"
    crosses_below: tuple[Operand, Operand]


class AllCondition(Node):
    TAG: ClassVar[str] = "<all>"
    all: list[Condition] = Field(min_length=1, max_length=32)

    def children(self):
        return [(("all", i), c) for i, c in enumerate(self.all)]


class AnyCondition(Node):
    TAG: ClassVar[str] = "<any>"
    any: list[Condition] = Field(min_length=1, max_length=32)

    def children(self):
        return [(("any", i), c) for i, c in enumerate(self.any)]


class NotCondition(Node):
    TAG: ClassVar[str] = "<not>"
    not_: Condition = Field(alias="not")

    def children(self):
        return [(("not",), self.not_)]


class HeldCondition(Node):
    """``{"held": c, "bars": n}``: c on each of the bars t−n+1 … t."""

    TAG: ClassVar[str] = "<held>"
    held: Condition
    bars: arg_type(BARS)  # type: ignore[valid-type]

    def children(self):
        return [(("held",), self.held)]

    def scalar_args(self):
        return [("bars", BARS, self.bars)]


def _indicator_model(spec: IndicatorSpec) -> type[IndicatorOperand]:
    fields: dict[str, Any] = {"ind": (Literal[spec.name], ...)}
    for key, arg in spec.args.items():
        if arg.kind == "source":
            fields[key] = ("Operand", Field(default=PriceOperand(price=arg.default)))
        else:
            fields[key] = (arg_type(arg), ... if arg.default is None else arg.default)
    fields["output"] = (Literal[spec.outputs], spec.outputs[0])
    fields["shift"] = (Shift, 0)
    title = "".join(part.title() for part in spec.name.split("_")) + "Indicator"
    return create_model(title, __base__=IndicatorOperand, __module__=__name__,
                        __doc__=f"The {spec.name} indicator ({spec.talib}).", **fields)


INDICATOR_MODELS = {name: _indicator_model(spec) for name, spec in INDICATORS.items()}


def _indicator_tag(value: Any) -> str | None:
    if isinstance(value, IndicatorOperand):
        return f"<ind:{value.ind}>"
    name = value.get("ind") if isinstance(value, dict) else None
    return f"<ind:{name}>" if isinstance(name, str) and name in INDICATORS else None


Indicator = tagged_union({f"<ind:{n}>": m for n, m in INDICATOR_MODELS.items()}, _indicator_tag,
                   "rule_unknown_indicator", "unknown indicator")

_OPERAND_KEYS = {"price": "<price>", "ind": "<ind>", "add": "<add>", "sub": "<sub>",
                 "mul": "<mul>", "div": "<div>"}
Operand = tagged_union(
    {"<int>": _INT, "<float>": _FLOAT, "<$param>": ParamRef, "<price>": PriceOperand,
     "<ind>": Indicator, "<add>": AddOperand, "<sub>": SubOperand, "<mul>": MulOperand,
     "<div>": DivOperand},
    discriminator({"<int>", "<float>", "<$param>"}, _OPERAND_KEYS), "rule_operand",
    'expected an operand: a number, "$name", or an object with one of the keys '
    + ", ".join(_OPERAND_KEYS))
"""A number per bar: a number, ``"$name"``, a price, an indicator or arithmetic."""

_CONDITIONS = (GtCondition, GteCondition, LtCondition, LteCondition, CrossesAboveCondition,
               CrossesBelowCondition, AllCondition, AnyCondition, NotCondition, HeldCondition)
CONDITION_KEYS = {c.TAG[1:-1]: c.TAG for c in _CONDITIONS}
Condition = tagged_union({c.TAG: c for c in _CONDITIONS}, discriminator(set(), CONDITION_KEYS),
                   "rule_condition",
                   "expected a condition: an object with one of the keys "
                   + ", ".join(CONDITION_KEYS))
"""True or false per bar: a comparison, a cross, all/any/not or held."""

OPERAND_KEYS = tuple(_OPERAND_KEYS)

for _model in (PriceOperand, *INDICATOR_MODELS.values(), AddOperand, SubOperand, MulOperand,
               DivOperand, *_CONDITIONS):
    _model.model_rebuild()


def walk(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple, Any]]:
    """Every node under ``node`` (itself first) with its JSON path, depth first."""
    yield path, node
    if isinstance(node, Node):
        for suffix, child in node.children():
            yield from walk(child, path + suffix)
