"""The security parameters of docs/operations.md in template.yaml: prod cannot deploy open, reserved concurrency and route
throttling exist, X-Ray permissions only with tracing, layers free of boto3/botocore."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROD_READY = {"JwtIssuer": "https://issuer.example.com", "JwtAudience": ["client-1"],
              "AllowedOrigins": ["https://app.example.com"]}


def _value(expr: Any, params: dict[str, Any]) -> Any:
    """A tiny evaluator of the Rules functions the template uses."""
    if not isinstance(expr, dict):
        return expr
    (fn, arg), = expr.items()
    if fn == "Ref":
        return params[arg]
    args = [_value(a, params) for a in (arg if isinstance(arg, list) else [arg])]
    if fn == "Fn::Equals":
        return args[0] == args[1]
    if fn == "Fn::Not":
        return not args[0]
    if fn == "Fn::Contains":
        return args[1] in args[0]
    if fn == "Fn::EachMemberEquals":
        return all(member == args[1] for member in args[0])
    raise AssertionError(f"unexpected function {fn}")


def _parameters(template: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    params = {}
    for name, spec in template["Parameters"].items():
        default = spec.get("Default")
        if spec["Type"] == "CommaDelimitedList" and isinstance(default, str):
            default = default.split(",")
        params[name] = default
    return {**params, **overrides}


def _failed_assertions(template: dict[str, Any], params: dict[str, Any]) -> list[str]:
    failed = []
    for rule in template["Rules"].values():
        if "RuleCondition" in rule and not _value(rule["RuleCondition"], params):
            continue
        failed += [a["AssertDescription"] for a in rule["Assertions"]
                   if not _value(a["Assert"], params)]
    return failed


def test_given_prod_with_default_parameters_then_the_rules_refuse_the_deploy(template):
    failed = _failed_assertions(template, _parameters(template, Environment="prod"))
    assert len(failed) == 3 and any("JwtIssuer" in f for f in failed)
    assert any("JwtAudience" in f for f in failed) and any("AllowedOrigins" in f for f in failed)


@pytest.mark.parametrize("missing", sorted(PROD_READY))
def test_given_prod_without_one_of_issuer_audience_origins_then_refused(template, missing):
    broken = {"JwtIssuer": "", "JwtAudience": [""], "AllowedOrigins": ["https://a.example", "*"]}
    params = _parameters(template, Environment="prod",
                         **{**PROD_READY, missing: broken[missing]})
    assert len(_failed_assertions(template, params)) == 1


def test_given_prod_with_authorizer_and_origins_or_dev_open_then_allowed(template):
    assert _failed_assertions(template, _parameters(template, Environment="prod",
                                                    **PROD_READY)) == []
    assert _failed_assertions(template, _parameters(template, Environment="dev")) == []


def _samconfig_overrides(env: str) -> dict[str, Any]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    pairs = config[env]["deploy"]["parameters"]["parameter_overrides"].split()
    return dict(pair.split("=", 1) for pair in pairs)


def test_given_samconfig_prod_as_committed_then_it_cannot_deploy_without_the_authorizer(
    template
):
    overrides = _samconfig_overrides("prod")
    assert overrides["Environment"] == "prod"
    assert _failed_assertions(template, _parameters(template, **overrides))


def test_given_reserved_concurrency_parameters_then_worker_and_sync_run_use_them(template):
    resources = template["Resources"]
    for function, parameter in [("WorkerFunction", "WorkerReservedConcurrency"),
                                ("RunSyncFunction", "RunSyncReservedConcurrency")]:
        reserved = resources[function]["Properties"]["ReservedConcurrentExecutions"]
        condition, value, otherwise = reserved["Fn::If"]
        assert value == {"Ref": parameter} and otherwise == {"Ref": "AWS::NoValue"}
        assert template["Conditions"][condition] == {
            "Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]}


def test_given_the_routes_that_start_work_then_each_has_its_own_throttling(template):
    settings = template["Resources"]["BacktestApi"]["Properties"]["RouteSettings"]
    assert settings["POST /api/backtests/run-async"] == {
        "ThrottlingBurstLimit": {"Ref": "RunAsyncBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "RunAsyncRateLimit"}}
    assert settings["POST /api/backtests/run"] == {
        "ThrottlingBurstLimit": {"Ref": "RunSyncBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "RunSyncRateLimit"}}
    default = template["Resources"]["BacktestApi"]["Properties"]["DefaultRouteSettings"]
    assert _parameters(template)["RunAsyncRateLimit"] < default["ThrottlingRateLimit"]


def _transformed(parameters: dict[str, Any]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    from infra.lint_template import _OfflinePolicyLoader, _package_offline

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    sam_template = yaml_parse((ROOT / "template.yaml").read_text())
    _package_offline(sam_template)
    return transform(sam_template, parameters, _OfflinePolicyLoader())


def _xray_grants(transformed: dict[str, Any]) -> dict[str, bool]:
    roles = {k: v for k, v in transformed["Resources"].items() if v["Type"] == "AWS::IAM::Role"}
    return {k: any("AWSXrayWriteOnlyAccess" in str(arn)
                   for arn in v["Properties"].get("ManagedPolicyArns", []))
            for k, v in roles.items() if k.endswith("FunctionRole")}


def test_given_tracing_disabled_then_no_function_has_xray_permissions_or_config():
    transformed = _transformed({})
    grants = _xray_grants(transformed)
    assert grants and not any(grants.values()), grants
    lambdas = [v for v in transformed["Resources"].values()
               if v["Type"] == "AWS::Lambda::Function"]
    assert lambdas and all("TracingConfig" not in f["Properties"] for f in lambdas)


def test_given_tracing_active_then_every_function_traces_and_may_write_to_xray():
    transformed = _transformed({"TracingMode": "Active"})
    grants = _xray_grants(transformed)
    assert grants and all(grants.values()), grants
    lambdas = [v for v in transformed["Resources"].values()
               if v["Type"] == "AWS::Lambda::Function"]
    # CloudFormation resolves the Ref to Active at deploy time.
    assert all(f["Properties"]["TracingConfig"] == {"Mode": {"Ref": "TracingMode"}}
               for f in lambdas)


def test_given_the_xray_layer_then_it_exists_only_with_tracing_and_installs_without_deps(
    template
):
    layer = template["Resources"]["XRayLayer"]
    assert layer["Condition"] == "TracingEnabled"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert {"Fn::If": ["TracingEnabled", {"Ref": "XRayLayer"}, {"Ref": "AWS::NoValue"}]} in (
        template["Globals"]["Function"]["Layers"])
    makefile = (ROOT / "layers" / "xray" / "Makefile").read_text()
    assert "build-XRayLayer:" in makefile and "--no-deps" in makefile


@pytest.mark.parametrize("layer", ["core", "engine"])
def test_given_a_layer_requirements_file_then_it_pulls_neither_boto_nor_the_xray_sdk(layer):
    lines = [ln.split("#", 1)[0].strip().lower()
             for ln in (ROOT / "layers" / layer / "requirements.txt").read_text().splitlines()]
    requirements = [ln for ln in lines if ln]
    assert not any(r.startswith(("boto3", "botocore", "aws-xray-sdk")) for r in requirements)
    assert not any("[tracer]" in r or "[all]" in r for r in requirements), requirements
