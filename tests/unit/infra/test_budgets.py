"""bench/budgets.py on `sam build` output: real folder sizes, and boto3/botocore in a layer
is a failed budget (it would shadow the Lambda runtime's pair)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def budgets():
    spec = importlib.util.spec_from_file_location("budgets", ROOT / "bench" / "budgets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["budgets"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("budgets", None)


def _file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


BUILT_TEMPLATE = """
Globals:
  Function:
    Layers:
      - !Ref CoreLayer
      - !If [TracingEnabled, !Ref XRayLayer, !Ref AWS::NoValue]
Resources:
  CoreLayer: {Type: AWS::Serverless::LayerVersion}
  EngineLayer: {Type: AWS::Serverless::LayerVersion}
  XRayLayer: {Type: AWS::Serverless::LayerVersion}
  SubmitFunction: {Type: AWS::Serverless::Function, Properties: {CodeUri: SubmitFunction}}
  StatusFunction: {Type: AWS::Serverless::Function}
  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      Layers: [!Ref EngineLayer]
"""


def _build(tmp_path: Path, core_packages: list[str]) -> Path:
    build = tmp_path / ".aws-sam" / "build"
    build.mkdir(parents=True)
    (build / "template.yaml").write_text(BUILT_TEMPLATE)
    for package in core_packages:
        _file(build / "CoreLayer" / "python" / package / "__init__.py", 1024 * 1024)
    _file(build / "EngineLayer" / "python" / "numpy" / "__init__.py", 3 * 1024 * 1024)
    for fid in ("SubmitFunction", "WorkerFunction"):  # StatusFunction: not built
        _file(build / fid / "app.py", 2048)
    return build


def test_given_a_clean_build_then_each_function_is_measured_with_its_layers(budgets, tmp_path):
    rows = {r.label: r for r in budgets.built_rows(_build(tmp_path, ["pydantic", "jmespath"]))}
    core = next(r for label, r in rows.items() if label.startswith("CoreLayer"))
    assert core.ok is True and core.value.strip() == "2.0 MB"
    assert rows["SubmitFunction + CoreLayer"].value.strip() == "2.0 MB"
    assert rows["SubmitFunction + CoreLayer"].budget == "<= 20 MB"
    worker = rows["WorkerFunction + CoreLayer + EngineLayer"]
    assert (worker.value.strip(), worker.budget) == ("5.0 MB", "<= 250 MB")
    assert "StatusFunction + CoreLayer" not in rows  # not built: not measured
    assert all(r.ok for r in rows.values())


def test_given_the_optional_xray_layer_was_built_then_it_counts_for_every_function(
    budgets, tmp_path
):
    build = _build(tmp_path, ["pydantic"])
    _file(build / "XRayLayer" / "python" / "aws_xray_sdk" / "__init__.py", 1024 * 1024)
    rows = {r.label: r for r in budgets.built_rows(build)}
    assert rows["SubmitFunction + CoreLayer + XRayLayer"].value.strip() == "2.0 MB"


def test_given_botocore_in_a_layer_then_the_budget_fails_naming_it(budgets, tmp_path):
    rows = budgets.built_rows(_build(tmp_path, ["pydantic", "botocore", "boto3"]))
    core = next(r for r in rows if r.label.startswith("CoreLayer"))
    assert core.ok is False and core.note == "ships boto3, botocore"
