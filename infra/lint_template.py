"""Lint the SAM template twice: as written, and after an offline SAM transform.

Usage: ``python -m infra.lint_template [template.yaml]`` (``make cfn-lint``).

Stage 1 runs cfn-lint on the SAM template. cfn-lint 1.x no longer applies the SAM transform
(it only merges ``Globals`` and validates against SAM schemas), so a template can pass it and
still be rejected by the transform at deploy time. Stage 2 therefore runs aws-sam-translator
offline, exactly as CloudFormation would, and stage 3 runs cfn-lint on the resulting plain
CloudFormation JSON. No AWS call is made: the managed-policy loader is a stub (SAM ships its
own map of AWS managed policies) and the region comes from a dummy default.

Prints one summary line per stage; exits 1 on any finding, 2 on a usage error.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# samtranslator asks boto3 for the region and partition; no credentials or network needed.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# Keep ignores explicit so each one is a reviewed decision. Stage 1 (the SAM template) ignores
# nothing. Stage 3 ignores W2001 "Parameter X not used": the SAM transform substitutes parameter
# values into some properties (e.g. CorsConfiguration), so a parameter used in the source can
# disappear from the output; stage 1 still reports genuinely unused parameters.
IGNORED_RULES_SAM: tuple[str, ...] = ()
IGNORED_RULES_TRANSFORMED: tuple[str, ...] = ("W2001",)


class _OfflinePolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader, which lists IAM policies via AWS."""

    def load(self) -> dict[str, str]:
        return {}


def _cfn_lint(template_text: str, label: str, ignored: tuple[str, ...]) -> list[str]:
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    config = ManualArgs(regions=["us-east-1"], ignore_checks=list(ignored))
    matches = lint(template_text, config=config)
    findings = []
    for match in matches:
        line = getattr(match, "linenumber", "?")
        findings.append(f"{label}:{line}: [{match.rule.id}] {match.message}")
    return findings


# What `sam package` uploads: local code paths become S3 URIs before the transform runs.
_PACKAGED_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


def _package_offline(sam_template: dict[str, Any]) -> None:
    """Replace local CodeUri/ContentUri paths with placeholder S3 URIs, as `sam package` would."""
    for resource in sam_template.get("Resources", {}).values():
        prop = _PACKAGED_PROPERTIES.get(resource.get("Type", ""))
        properties = resource.get("Properties") or {}
        value = properties.get(prop) if prop else None
        if isinstance(value, str) and not value.startswith("s3://"):
            properties[prop] = f"s3://offline-lint-placeholder/{value.strip('/')}.zip"


def _sam_transform(template_path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    sam_template = yaml_parse(template_path.read_text())
    _package_offline(sam_template)
    try:
        transformed = transform(sam_template, {}, _OfflinePolicyLoader())  # type: ignore[arg-type]
    except InvalidDocumentException as exc:
        return None, [f"{template_path}: [SAM] {cause.message}" for cause in exc.causes]
    except Exception as exc:  # the translator raises plain exceptions on some inputs
        return None, [f"{template_path}: [SAM] {type(exc).__name__}: {exc}"]
    return transformed, []


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m infra.lint_template [template.yaml]", file=sys.stderr)
        return 2
    template_path = Path(args[0] if args else "template.yaml")
    if not template_path.is_file():
        print(f"{template_path}: no such file", file=sys.stderr)
        return 2

    all_findings: list[str] = []

    started = time.perf_counter()
    findings = _cfn_lint(template_path.read_text(), str(template_path), IGNORED_RULES_SAM)
    all_findings += findings
    print(
        f"cfn-lint (SAM template):         {len(findings)} finding(s) "
        f"[{time.perf_counter() - started:.1f} s]"
    )

    started = time.perf_counter()
    transformed, findings = _sam_transform(template_path)
    all_findings += findings
    resources = len(transformed["Resources"]) if transformed else 0
    print(
        f"SAM transform (offline):         {len(findings)} error(s), "
        f"{resources} CloudFormation resources [{time.perf_counter() - started:.1f} s]"
    )

    if transformed is not None:
        started = time.perf_counter()
        label = f"{template_path}(transformed)"
        findings = _cfn_lint(json.dumps(transformed, indent=1), label, IGNORED_RULES_TRANSFORMED)
        all_findings += findings
        print(
            f"cfn-lint (transformed template): {len(findings)} finding(s) "
            f"[{time.perf_counter() - started:.1f} s]"
        )

    for finding in all_findings:
        print(finding)
    return 1 if all_findings else 0


if __name__ == "__main__":
    sys.exit(main())
