"""One registry of strategies: the built-ins and rule documents, behind one ``StrategyRef``.

Both the API (validation at submit, the catalog) and the engine (what to run) resolve a
strategy here, so a name, its parameter model and the ``loc`` of a parameter error are
decided once. A built-in is found by name; a rule document (``docs/rules.md``) is resolved
from its JSON — saved documents are looked up by the API and arrive here as JSON too.

>>> ref = builtin("volume_long_candle")
>>> ref.kind, ref.validate_params({"vol_ma_window": "5"})["vol_ma_window"]
('builtin', 5)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from backtest_contract.strategies import STRATEGIES

StrategyKind = Literal["builtin", "rules"]
BUILTIN_NAMES: tuple[str, ...] = tuple(STRATEGIES)


class ParamsInvalid(ValueError):
    """Parameters do not fit the strategy. ``errors``: ``[{loc, msg, type}]`` with ``loc``
    relative to the request body (``["params", name]``, ``["definition", ...]``)."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__("; ".join(str(e.get("msg")) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class StrategyRef:
    """A resolved strategy. ``definition`` is the rule document (None for a built-in) and
    ``version`` its content hash (first 12 hex of the sha256 of its canonical JSON)."""

    name: str
    kind: StrategyKind
    description: str
    params_model: type[BaseModel]
    definition: dict[str, Any] | None = None
    version: str | None = None
    position_defaults: dict[str, Any] | None = None
    document: Any = field(default=None, compare=False, repr=False)  # the parsed RuleDocument

    def validate_params(self, params: Any, loc: tuple[str | int, ...] = ("params",)
                        ) -> dict[str, Any]:
        """``params`` validated (numeric strings coerced, defaults filled in) as plain JSON
        values. Raises ParamsInvalid with ``loc`` = ``loc`` + the parameter's path."""
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ParamsInvalid([{"loc": list(loc), "msg": "params must be an object",
                                  "type": "dict_type"}])
        try:
            model = self.params_model.model_validate(params)
        except ValidationError as exc:
            raise ParamsInvalid([
                {"loc": [*loc, *err["loc"]], "msg": err["msg"].removeprefix("Value error, "),
                 "type": err["type"]}
                for err in exc.errors(include_url=False)
            ]) from None
        values = model.model_dump(mode="json")
        if self.kind == "rules":
            from backtest_contract.rules import check_lengths

            errors = check_lengths(self.document, values, at_param=True)
            if errors:
                raise ParamsInvalid([{**e, "loc": [*loc, *e["loc"]]} for e in errors])
        return values

    def catalog_entry(self) -> dict[str, Any]:
        """``{name, kind, version, description, params_schema, defaults}`` (GET
        /api/strategies)."""
        return {"name": self.name, "kind": self.kind, "version": self.version,
                "description": self.description,
                "params_schema": self.params_model.model_json_schema(),
                "defaults": self.params_model().model_dump(mode="json")}


def resolve_position(ref: StrategyRef, params: dict[str, Any], request: Any) -> Any:
    """The ``PositionSpec`` a run simulates with: the strategy's defaults (a built-in's time
    exit after ``hold_period_bars``, a rule document's ``position``) overlaid key by key by
    the request's ``position``. ``params`` are the validated parameters (``$name`` operands
    of ``entry_priority`` read them). Raises ParamsInvalid at ``["position", ...]`` (or
    ``["definition", "position", ...]`` for a key that comes from the document)."""
    from backtest_contract.position import PositionSpec, merge_position

    if request is not None and not isinstance(request, dict):
        raise ParamsInvalid([{"loc": ["position"], "msg": "position must be an object",
                              "type": "dict_type"}])
    defaults = ({"time_exit_bars": params.get("hold_period_bars")} if ref.kind == "builtin"
                else dict(ref.position_defaults or {}))
    merged = merge_position(defaults, request)

    def where(key: Any) -> list[str | int]:
        from_request = request is not None and key in request
        return ["position"] if from_request or ref.kind == "builtin" else [
            "definition", "position"]

    try:
        spec = PositionSpec.model_validate(merged)
    except ValidationError as exc:
        raise ParamsInvalid([
            {"loc": [*where(err["loc"][0] if err["loc"] else None), *err["loc"]],
             "msg": err["msg"].removeprefix("Value error, "), "type": err["type"]}
            for err in exc.errors(include_url=False)]) from None
    if spec.entry_priority is not None:
        _check_priority(spec.entry_priority, params, where("entry_priority"))
    return spec


def priority_operand(value: Any) -> Any:
    """``entry_priority`` as a validated rule operand (docs/rules.md, "Operands")."""
    from pydantic import TypeAdapter

    from backtest_contract.rules import Operand

    return TypeAdapter(Operand).validate_python(value)


def _check_priority(value: Any, params: dict[str, Any], loc: list[str | int]) -> None:
    from backtest_contract.rules.errors import from_validation_error

    base = [*loc, "entry_priority"]
    try:
        priority_operand(value)
    except ValidationError as exc:  # the document's reworded errors: JSON paths, no tags
        raise ParamsInvalid([{**err, "loc": [*base, *err["loc"]]}
                             for err in from_validation_error(exc)]) from None
    missing = sorted({ref[1:] for ref in _dollar_refs(value)} - set(params))
    if missing:
        raise ParamsInvalid([{"loc": base, "type": "value_error",
                              "msg": f"entry_priority uses undeclared parameters: "
                                     f"{', '.join(missing)}"}])


def _dollar_refs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.startswith("$") else []
    if isinstance(value, dict):
        return [r for v in value.values() for r in _dollar_refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _dollar_refs(v)]
    return []


def builtin(name: str) -> StrategyRef | None:
    """The built-in strategy ``name``, or None."""
    contract = STRATEGIES.get(name)
    if contract is None:
        return None
    return StrategyRef(name=contract.name, kind="builtin", description=contract.description,
                       params_model=contract.params_model)


def builtins() -> list[StrategyRef]:
    """Every built-in, by name."""
    return [ref for name in BUILTIN_NAMES if (ref := builtin(name)) is not None]


def from_definition(data: Any, loc: tuple[str | int, ...] = ("definition",)) -> StrategyRef:
    """The strategy of a rule document (JSON). Raises ParamsInvalid with ``loc`` = ``loc``
    + the path inside the document."""
    from backtest_contract.rules import (
        RuleDocumentError,
        document_version,
        params_model,
        parse_rule_document,
    )

    try:
        doc = parse_rule_document(data)
    except RuleDocumentError as exc:
        raise ParamsInvalid([{**e, "loc": [*loc, *e["loc"]]} for e in exc.errors]) from None
    position = doc.position.model_dump(mode="json", exclude_unset=True) \
        if isinstance(doc.position, BaseModel) else doc.position
    return StrategyRef(name=doc.name, kind="rules", description=doc.description or "",
                       params_model=params_model(doc), definition=data,
                       version=document_version(data), position_defaults=position,
                       document=doc)


def resolve(strategy: str | None, definition: Any) -> StrategyRef:
    """The built-in ``strategy`` or the rule document ``definition`` (exactly one is set;
    a saved strategy's name has been replaced by its document by the caller)."""
    if definition is not None:
        return from_definition(definition)
    ref = builtin(strategy or "")
    if ref is None:
        raise ParamsInvalid([{"loc": ["strategy"], "type": "value_error",
                              "msg": f"Unknown strategy {strategy!r}; available: "
                                     f"{', '.join(BUILTIN_NAMES)} or a saved strategy"}])
    return ref
