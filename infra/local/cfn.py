"""Read a CloudFormation/SAM template and resolve its intrinsic functions locally.

``load_template`` accepts the YAML short tags (``!Ref``, ``!Sub``, ``!GetAtt``, ``!If``,
``!Equals``, ...) and turns each into its long JSON form (``{"Ref": ...}``,
``{"Fn::Sub": ...}``), so the rest of the code handles one shape only.

``Resolver`` evaluates those intrinsics against parameter defaults, pseudo parameters
(``AWS::Region``, ``AWS::StackName``, ...), conditions, and a table of local physical
values for resources (``Ref`` → name or URL, ``GetAtt`` → ``Arn`` etc.).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_SHORT_TAGS = [
    "Ref", "Sub", "GetAtt", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split",
    "FindInMap", "Base64", "Cidr", "GetAZs", "ImportValue", "Condition", "Length",
    "ToJsonString", "Transform",
]

NO_VALUE = object()
"""Marker for ``!Ref AWS::NoValue``: the enclosing key or list item is dropped."""


class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: ~10x faster
    """SafeLoader that understands CloudFormation short-form tags."""


def _construct(tag: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    key = "Ref" if tag == "Ref" else ("Condition" if tag == "Condition" else f"Fn::{tag}")

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":  # !GetAtt Res.Attr is the short form of [Res, Attr]
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _tag in _SHORT_TAGS:
    _CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse a template file into plain dicts/lists with long-form intrinsics."""
    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(doc, dict) or "Resources" not in doc:
        raise ValueError(f"{path}: not a CloudFormation template (no Resources)")
    return doc


class UnresolvableError(ValueError):
    """An intrinsic that the local harness cannot evaluate (names the expression)."""


@dataclass
class Resolver:
    """Evaluate intrinsics with local values.

    ``refs`` maps a logical id to what ``!Ref`` returns for it; ``attrs`` maps
    ``(logical id, attribute)`` to what ``!GetAtt`` returns.
    """

    parameters: dict[str, Any]
    pseudo: dict[str, str]
    conditions: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """Return ``value`` with every intrinsic evaluated (``NO_VALUE`` items dropped)."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            fn = _INTRINSICS.get(key)
            if fn is not None:
                return fn(self, arg)
        out = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise UnresolvableError(f"unknown condition {name!r}")
        return bool(self.resolve(self.conditions[name]))

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise UnresolvableError(f"!Ref {name}: no local value")

    def get_att(self, arg: Any) -> str:
        logical_id, attr = (arg.split(".", 1) if isinstance(arg, str) else self.resolve(arg))
        try:
            return self.attrs[(logical_id, attr)]
        except KeyError:
            raise UnresolvableError(f"!GetAtt {logical_id}.{attr}: no local value") from None

    def sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is an escaped literal
                return "${" + name[1:] + "}"
            if name in extra:
                return str(extra[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(name)
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)


def _fn_if(r: Resolver, arg: list[Any]) -> Any:
    name, yes, no = arg
    return r.resolve(yes if r.condition(name) else no)


def _fn_join(r: Resolver, arg: list[Any]) -> str:
    sep, items = arg
    return str(sep).join(str(v) for v in r.resolve(items))


def _fn_select(r: Resolver, arg: list[Any]) -> Any:
    index, items = r.resolve(arg)
    return items[int(index)]


def _fn_split(r: Resolver, arg: list[Any]) -> list[str]:
    sep, text = r.resolve(arg)
    return str(text).split(sep)


def _fn_equals(r: Resolver, arg: list[Any]) -> bool:
    left, right = r.resolve(arg)
    return str(left) == str(right)


_INTRINSICS: Mapping[str, Callable[[Resolver, Any], Any]] = {
    "Ref": lambda r, a: r.ref(a),
    "Fn::GetAtt": lambda r, a: r.get_att(a),
    "Fn::Sub": lambda r, a: r.sub(a),
    "Fn::If": _fn_if,
    "Fn::Equals": _fn_equals,
    "Fn::Not": lambda r, a: not r.resolve(a[0]),
    "Fn::And": lambda r, a: all(r.resolve(a)),
    "Fn::Or": lambda r, a: any(r.resolve(a)),
    "Condition": lambda r, a: r.condition(a),
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
}
