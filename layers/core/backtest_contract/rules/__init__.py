"""Rule documents: strategies defined as data (JSON), never executed as code.

A document declares parameters, an ``entry`` condition, an optional ``exit`` condition and
optional ``position`` defaults; the format, the indicators and the limits are described in
docs/rules.md. The engine evaluates a parsed document (``backtest_engine.strategies.rules``).

    doc = parse_rule_document({"name": "rsi_dip", "entry": {"lt": [{"ind": "rsi"}, 30]}})
"""

from .catalog import INDICATORS, MAX_LENGTH, PRICE_FIELDS, ArgSpec, IndicatorSpec
from .checks import MAX_DEPTH, MAX_NODES, check_lengths
from .document import (
    MAX_DOCUMENT_BYTES,
    MAX_PARAMS,
    ParamSpec,
    RuleDocument,
    canonical_json,
    document_version,
    params_model,
    parse_rule_document,
    rule_json_schema,
)
from .errors import RuleDocumentError
from .nodes import (
    Condition,
    IndicatorOperand,
    Node,
    Operand,
    PriceOperand,
    walk,
)

BUILTIN_NAME_ERROR = "rule_builtin_name"
"""``type`` of the error for a document named like a built-in (the API answers 409)."""

__all__ = [
    "BUILTIN_NAME_ERROR",
    "INDICATORS",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_LENGTH",
    "MAX_NODES",
    "MAX_PARAMS",
    "PRICE_FIELDS",
    "ArgSpec",
    "Condition",
    "IndicatorOperand",
    "IndicatorSpec",
    "Node",
    "Operand",
    "ParamSpec",
    "PriceOperand",
    "RuleDocument",
    "RuleDocumentError",
    "canonical_json",
    "check_lengths",
    "document_version",
    "params_model",
    "parse_rule_document",
    "rule_json_schema",
    "walk",
]
