"""The rule document (a strategy as data) and its parsing, schema, version and parameters.

``parse_rule_document(data)`` is the one entry point that validates a submitted document;
the format and its limits are described in docs/rules.md.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, create_model

from backtest_contract.position import PositionInput
from backtest_contract.strategies import Bool, Float, Int

from .checks import precheck, semantic_errors
from .errors import RuleDocumentError, error, from_validation_error
from .nodes import _FLOAT, Condition, discriminator, tagged_union

MAX_DOCUMENT_BYTES = 64 * 1024
"""A larger submitted document is refused before anything else (HTTP 413, by the API)."""
MAX_PARAMS = 32
NAME_PATTERN = r"^[a-z][a-z0-9_]{2,47}$"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# The float branches are "number, not integer" in the schema, so that oneOf stays disjoint.
_Scalar = tagged_union({"<int>": Annotated[int, Field(strict=True)],
                  "<float>": _FLOAT,
                  "<bool>": Annotated[bool, Field(strict=True)]},
                 discriminator({"<int>", "<float>", "<bool>"}), "rule_param_value",
                 "expected a number or a boolean")
_Bound = tagged_union({"<int>": Annotated[int, Field(strict=True)], "<float>": _FLOAT},
                discriminator({"<int>", "<float>"}), "rule_param_value", "expected a number")


class ParamSpec(BaseModel):
    """A declared parameter: ``{"type": "int", "default": 14, "min": 2, "max": 200}``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["int", "float", "bool"]
    default: _Scalar  # type: ignore[valid-type]
    min: _Bound | None = None  # type: ignore[valid-type]
    max: _Bound | None = None  # type: ignore[valid-type]


class RuleDocument(BaseModel):
    """A strategy defined by rules: parameters, an entry condition, an optional exit
    condition and optional position defaults (validated by the position model)."""

    model_config = ConfigDict(extra="forbid", title="RuleDocument")

    name: Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
    description: str = Field("", max_length=500)
    params: dict[str, ParamSpec] = Field(default_factory=dict, max_length=MAX_PARAMS)
    entry: Condition  # type: ignore[valid-type]
    exit: Condition | None = None  # type: ignore[valid-type]
    position: PositionInput | None = Field(  # type: ignore[valid-type]
        None, description="Position defaults (docs/positions.md): a run's position "
        "replaces them key by key")

    def defaults(self) -> dict[str, int | float | bool]:
        """``{param: default}`` (as declared: an int default of a float parameter stays int)."""
        return {name: spec.default for name, spec in self.params.items()}


def parse_rule_document(data: Any) -> RuleDocument:
    """Validate a submitted document (a dict, or JSON text/bytes) into a RuleDocument.

    Raises RuleDocumentError whose ``errors`` are ``{loc, msg, type}`` with ``loc`` the JSON
    path inside the document, e.g. ``["entry", "all", 1, "gt", 0, "length"]``.
    """
    if isinstance(data, str | bytes | bytearray):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise RuleDocumentError([error([], f"invalid JSON: {exc}", "json_invalid")]) from None
    if not isinstance(data, dict):
        raise RuleDocumentError([error([], "a rule document is a JSON object", "dict_type")])
    errors = precheck(data)
    if errors:
        raise RuleDocumentError(errors)
    try:
        doc = RuleDocument.model_validate(data)
    except ValidationError as exc:
        raise RuleDocumentError(from_validation_error(exc)) from None
    errors = semantic_errors(doc)
    if errors:
        raise RuleDocumentError(errors)
    return doc


def rule_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a rule document (GET /api/strategies/schema).

    The schema describes the shape; the limits across fields (node count, depth, declared
    ``$name``s, lengths after substitution) are checked by ``parse_rule_document``.
    """
    return {"$schema": JSON_SCHEMA_DIALECT, **RuleDocument.model_json_schema()}


def canonical_json(data: Any) -> str:
    """Sorted keys, no spaces, non-ASCII kept (encode as UTF-8): ``{"a":1,"b":[2,3]}``."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", exclude_unset=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def document_version(data: Any) -> str:
    """First 12 hex digits of the SHA-256 of the submitted document's canonical JSON."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()[:12]


_PARAM_TYPES = {"int": Int, "float": Float, "bool": Bool}


def params_model(doc: RuleDocument) -> type[BaseModel]:
    """A pydantic model of the document's parameters, like a built-in's parameter model:
    bounds from min/max, defaults, numeric strings coerced, booleans not numbers, unknown
    keys refused. ``model().model_dump()`` gives the defaults (keyed by parameter name)."""
    fields: dict[str, Any] = {}
    for i, (name, spec) in enumerate(doc.params.items()):
        bounds = {k: v for k, v in (("ge", spec.min), ("le", spec.max)) if v is not None}
        # Internal field names: a parameter may be called "copy", "schema" or "_x".
        fields[f"p{i}"] = (_PARAM_TYPES[spec.type],
                           Field(spec.default, alias=name, title=name, **bounds))
    title = "".join(part.title() for part in doc.name.split("_")) + "Params"
    return create_model(title, __config__=ConfigDict(extra="forbid", serialize_by_alias=True,
                                                     validate_by_alias=True,
                                                     validate_by_name=False), **fields)
