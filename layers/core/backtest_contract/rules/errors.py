"""Errors of a rule document as FastAPI-style dicts ``{loc, msg, type}``.

``loc`` is the JSON path inside the document (``["entry", "all", 1, "gt", 0, "length"]``);
the API prefixes it with ``["body", "definition"]``. Quoted input is cut to ``QUOTE_CHARS``.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .catalog import INDICATORS, ArgSpec
from .nodes import BARS, CONDITION_KEYS, OPERAND_KEYS, SHIFT, TAGS

QUOTE_CHARS = 60
OPERAND_EXAMPLES = ('a number, "$name" (a declared parameter) or an operand object such as '
                    '{"ind": "rsi", "length": 14} or {"price": "volume"}')
Loc = list[str | int]


class RuleDocumentError(ValueError):
    """A rule document is invalid; ``errors`` lists every problem found (never empty)."""

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc'])) or '(document)'}: "
                                   f"{e['msg']}" for e in errors[:5]))


def error(loc: tuple | list, msg: str, type_: str = "value_error") -> dict[str, Any]:
    """One error dict."""
    return {"loc": list(loc), "msg": msg, "type": type_}


def quote(value: Any) -> str:
    """``repr`` of a piece of user input, cut to QUOTE_CHARS characters."""
    text = repr(value)
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def from_validation_error(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors with document paths and messages that say what is allowed."""
    out = []
    for err in exc.errors(include_url=False):
        raw = list(err["loc"])
        loc = [seg for seg in raw if not (isinstance(seg, str) and seg in TAGS)]
        msg, loc = _reword(err, raw, loc)
        out.append(error(loc, msg, err["type"]))
    return out


def _reword(err: dict, raw: list, loc: Loc) -> tuple[str, Loc]:
    kind, value = err["type"], err.get("input")
    if kind == "rule_unknown_indicator":
        known = ", ".join(INDICATORS)
        if isinstance(value, dict) and "ind" in value:
            return f"unknown indicator {quote(value['ind'])}; known indicators: {known}", [
                *loc, "ind"]
        return f"expected an indicator name; known indicators: {known}", loc
    if kind == "rule_condition":
        return _unknown_object("condition", value, CONDITION_KEYS), loc
    if kind == "rule_operand":
        return _unknown_object("operand", value, OPERAND_KEYS), loc
    if kind == "string_pattern_mismatch" and raw[-1] == "<$param>":
        if len(raw) == 1 or isinstance(raw[-2], int) or raw[-2] == "source":  # an operand
            return f"expected an operand: {OPERAND_EXAMPLES}; got {quote(value)}", loc
        return f'expected "$name" (a declared parameter); got {quote(value)}', loc
    indicator = _enclosing_indicator(raw)
    if kind in _RANGE_ERRORS and raw[-1] in ("<int>", "<float>") and len(loc):
        spec = _arg_spec(indicator, loc[-1])
        if spec is not None:
            where = f" for {indicator}" if indicator and loc[-1] != "shift" else ""
            return f"{loc[-1]} must be {spec.bounds_text()}{where}; got {quote(value)}", loc
    if indicator and kind == "extra_forbidden" and raw[-2:-1] == [f"<ind:{indicator}>"]:
        args = ", ".join([*INDICATORS[indicator].args, "output", "shift"])
        return f"{indicator} has no argument {quote(loc[-1])}; its arguments: {args}", loc
    if indicator and kind == "literal_error" and raw[-1] == "output":
        outputs = ", ".join(INDICATORS[indicator].outputs)
        return f"{indicator} has no output {quote(value)}; its outputs: {outputs}", loc
    return err["msg"], loc


def _unknown_object(what: str, value: Any, keys) -> str:
    expected = f"one of the keys {', '.join(keys)}"
    if isinstance(value, dict):
        found = quote(sorted(value)) if value else "none"
        return f"unknown {what}: keys {found}; expected an object with {expected}"
    scalars = 'a number, "$name" or ' if what == "operand" else ""
    article = "an" if what == "operand" else "a"
    return f"expected {article} {what}: {scalars}an object with {expected}; got {quote(value)}"


_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _arg_spec(indicator: str | None, key: str | int) -> ArgSpec | None:
    if key == "shift":
        return SHIFT
    if key == "bars":
        return BARS
    return INDICATORS[indicator].args.get(str(key)) if indicator else None


def _enclosing_indicator(raw: list) -> str | None:
    for seg in reversed(raw):
        if isinstance(seg, str) and seg.startswith("<ind:") and seg in TAGS:
            return seg[5:-1]
    return None
