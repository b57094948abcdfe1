"""The limits and cross-references of a rule document that one model field cannot see.

``precheck`` runs on the raw JSON before pydantic (node count and depth, so that a hostile
document costs nothing), ``semantic_errors`` after it ($name references, parameter
declarations, lengths at the defaults), ``check_lengths`` for any parameter values (every
sweep combination at submit). Limits are described in docs/rules.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from backtest_contract.strategies import STRATEGIES

from .catalog import ArgSpec
from .errors import error, quote
from .nodes import OPERAND_KEYS, PARAM_NAME_PATTERN, IndicatorOperand, Node, walk

if TYPE_CHECKING:
    from .document import ParamSpec, RuleDocument

MAX_NODES = 400
MAX_DEPTH = 24
_PAIRS = {"gt", "gte", "lt", "lte", "crosses_above", "crosses_below"}


def precheck(data: dict) -> list[dict]:
    """Node count (≤ MAX_NODES operands and conditions) and depth (≤ MAX_DEPTH) of the raw
    ``entry``/``exit`` trees; stops descending once a limit is passed."""
    state = {"nodes": 0, "deep": None}
    for key in ("entry", "exit"):
        if key in data:
            _visit(data[key], (key,), 1, True, state)
    errors = []
    if state["deep"] is not None:
        errors.append(error(state["deep"], f"the rule is nested deeper than {MAX_DEPTH} "
                            "levels of operands and conditions", "rule_too_deep"))
    if state["nodes"] > MAX_NODES:
        errors.append(error([], f"the document has more than {MAX_NODES} nodes (operands "
                            "and conditions)", "rule_too_many_nodes"))
    return errors


def _visit(value: Any, path: tuple, depth: int, condition: bool, state: dict) -> None:
    state["nodes"] += 1
    if depth > MAX_DEPTH:
        state["deep"] = state["deep"] or path
        return
    if state["nodes"] > MAX_NODES or not isinstance(value, dict):
        return
    for key, child in value.items():
        if condition and key in _PAIRS or not condition and key in OPERAND_KEYS[2:]:
            _visit_items(child, path + (key,), depth + 1, False, state)
        elif condition and key in ("all", "any"):
            _visit_items(child, path + (key,), depth + 1, True, state)
        elif condition and key in ("not", "held"):
            _visit(child, path + (key,), depth + 1, True, state)
        elif not condition and key == "source" and "ind" in value:
            _visit(child, path + (key,), depth + 1, False, state)


def _visit_items(items: Any, path: tuple, depth: int, condition: bool, state: dict) -> None:
    if isinstance(items, list):
        for i, item in enumerate(items):
            _visit(item, path + (i,), depth, condition, state)


def semantic_errors(doc: RuleDocument) -> list[dict]:
    """Built-in names, parameter declarations and $name references; then, when those are
    sound, every length and window at the parameters' defaults."""
    errors = []
    if doc.name in STRATEGIES:
        errors.append(error(["name"], f"{doc.name!r} is a built-in strategy's name; "
                            "choose another", "rule_builtin_name"))
    for name, spec in doc.params.items():
        errors += _param_errors(name, spec)
    errors += list(_reference_errors(doc))
    if not errors:
        errors += check_lengths(doc, {})
    return errors


def _param_errors(name: str, spec: ParamSpec) -> list[dict]:
    loc = ["params", name]
    if not re.match(PARAM_NAME_PATTERN, name):
        return [error(loc, f"parameter name {quote(name)} must be letters, digits or _ "
                      "(not starting with a digit), at most 48 characters", "rule_param")]
    default, low, high = spec.default, spec.min, spec.max
    if spec.type == "bool":
        if not isinstance(default, bool):
            return [error([*loc, "default"], "a bool parameter's default is true or false",
                          "rule_param")]
        if low is not None or high is not None:
            return [error(loc, "a bool parameter has no min or max", "rule_param")]
        return []
    wanted = int if spec.type == "int" else (int, float)
    for key, value in (("default", default), ("min", low), ("max", high)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, wanted)):
            kind = "an integer" if spec.type == "int" else "a number"
            return [error([*loc, key], f"{key} of an {spec.type} parameter must be {kind}; "
                          f"got {quote(value)}", "rule_param")]
    if low is not None and high is not None and low > high:
        return [error(loc, f"min {low} is greater than max {high}", "rule_param")]
    if low is not None and default < low or high is not None and default > high:
        return [error([*loc, "default"], f"default {default} is outside "
                      f"[{'' if low is None else low}, {'' if high is None else high}]",
                      "rule_param")]
    return []


def _references(doc: RuleDocument) -> Iterator[tuple[tuple, ArgSpec | None, str]]:
    """(path, arg spec or None for an operand, "$name") of every parameter reference."""
    for key in ("entry", "exit"):
        root = getattr(doc, key)
        if root is None:
            continue
        for path, node in walk(root, (key,)):
            if isinstance(node, str):
                yield path, None, node
            elif isinstance(node, Node):
                for arg, spec, value in node.scalar_args():
                    if isinstance(value, str):
                        yield path + (arg,), spec, value


def _reference_errors(doc: RuleDocument) -> Iterator[dict]:
    declared = ", ".join(f"${n}" for n in doc.params) or "none"
    for path, spec, ref in _references(doc):
        param = doc.params.get(ref[1:])
        if param is None:
            yield error(path, f"undeclared parameter {quote(ref)}; declared: {declared}",
                        "rule_undeclared_param")
        elif spec is None and param.type == "bool":
            yield error(path, f"{ref} is a bool parameter and cannot be an operand "
                        "(a number per bar)", "rule_param_type")
        elif spec is not None and _kind_mismatch(spec, param.type):
            wanted = {"int": "an int", "float": "an int or float", "bool": "a bool"}[spec.kind]
            yield error(path, f"{path[-1]} takes {wanted} parameter; {ref} is "
                        f"{param.type}", "rule_param_type")


def _kind_mismatch(spec: ArgSpec, param_type: str) -> bool:
    allowed = {"int": {"int"}, "float": {"int", "float"}, "bool": {"bool"}}[spec.kind]
    return param_type not in allowed


def check_lengths(doc: RuleDocument, params: dict[str, Any], at_param: bool = False
                  ) -> list[dict]:
    """Errors for every ``$name`` argument (length, window, shift, bars, mult, …) whose
    value — from ``params``, else the parameter's default — is outside its bounds.

    Each error names the parameter and the value, at the argument's path inside the
    document; with ``at_param``, at ``[name]`` (the key of a run's ``params``) and naming
    the argument's path instead. [] when all fit.
    """
    values = {**doc.defaults(), **params}
    errors = []
    for path, spec, ref in _references(doc):
        if spec is None or spec.kind == "bool" or ref[1:] not in values:
            continue
        value = values[ref[1:]]
        integral = isinstance(value, int | float) and not isinstance(value, bool) and (
            spec.kind == "float" or float(value).is_integer())
        if not integral or not spec.accepts(value):
            where = f" for {_indicator_at(doc, path)}" if _indicator_at(doc, path) else ""
            wanted = "an integer " if spec.kind == "int" else ""
            msg = f"{path[-1]} must be {wanted}{spec.bounds_text()}{where}; {ref} = {quote(value)}"
            if at_param:
                errors.append(error([ref[1:]], f"{msg} (used at {'.'.join(map(str, path))})",
                                    "rule_arg_range"))
            else:
                errors.append(error(path, msg, "rule_arg_range"))
    return errors


def _indicator_at(doc: RuleDocument, path: tuple) -> str | None:
    node: Any = doc
    for seg in path[:-1]:
        node = node[seg] if isinstance(seg, int) else getattr(node, _attr(seg), None)
    return node.ind if isinstance(node, IndicatorOperand) else None


def _attr(key: str) -> str:
    return "not_" if key == "not" else key

