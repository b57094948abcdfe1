"""What the local bootstrap creates in moto matches template.yaml (moto in-process, no network).

The expected values are read from the raw template (short tags parsed, nothing resolved by
the harness's own model), so a drift in either the template or the model fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.bootstrap import create_resources
from infra.local.cfn import load_template
from infra.local.template_model import TemplateModel, build_model

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "template.yaml"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TemplateModel, dict[str, Any]]]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        model = build_model(TEMPLATE, "https://sqs.us-east-1.amazonaws.com")
        clients = {s: boto3.client(s, region_name="us-east-1") for s in ("dynamodb", "sqs", "s3")}
        urls = create_resources(model, clients)
        yield model, {**clients, "urls": urls}


def _resources(raw: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in raw["Resources"].items() if v["Type"] == rtype}


def test_given_template_tables_when_bootstrapped_then_keys_gsis_and_ttl_match(
    raw: dict[str, Any], created: tuple[TemplateModel, dict[str, Any]],
) -> None:
    model, aws = created
    tables = _resources(raw, "AWS::DynamoDB::Table")
    assert {t.logical_id for t in model.tables} == set(tables)
    for spec in model.tables:
        expected = tables[spec.logical_id]
        desc = aws["dynamodb"].describe_table(TableName=spec.name)["Table"]
        ttl = aws["dynamodb"].describe_time_to_live(TableName=spec.name)

        assert desc["KeySchema"] == expected["KeySchema"]
        assert sorted(map(str, desc["AttributeDefinitions"])) == sorted(
            map(str, expected["AttributeDefinitions"]))
        got_gsis = {g["IndexName"]: g["KeySchema"] for g in desc.get("GlobalSecondaryIndexes", [])}
        assert got_gsis == {g["IndexName"]: g["KeySchema"]
                            for g in expected.get("GlobalSecondaryIndexes", [])}
        ttl_spec = expected.get("TimeToLiveSpecification")
        if ttl_spec:
            assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
            assert ttl["TimeToLiveDescription"]["AttributeName"] == ttl_spec["AttributeName"]


def test_given_tasks_table_when_bootstrapped_then_contract_names_hold(
    created: tuple[TemplateModel, dict[str, Any]],
) -> None:
    model, aws = created
    tasks = next(t for t in model.tables if t.logical_id == "TasksTable")
    desc = aws["dynamodb"].describe_table(TableName=tasks.name)["Table"]
    ttl = aws["dynamodb"].describe_time_to_live(TableName=tasks.name)["TimeToLiveDescription"]

    assert desc["KeySchema"] == [{"AttributeName": "task_id", "KeyType": "HASH"}]
    assert desc["GlobalSecondaryIndexes"][0]["IndexName"] == "owner-created_at-index"
    assert ttl["AttributeName"] == "expires_at"


def test_given_template_queues_when_bootstrapped_then_visibility_and_redrive_match(
    raw: dict[str, Any], created: tuple[TemplateModel, dict[str, Any]],
) -> None:
    model, aws = created
    queues = _resources(raw, "AWS::SQS::Queue")
    params = {k: v.get("Default") for k, v in raw.get("Parameters", {}).items()}
    assert {q.logical_id for q in model.queues} == set(queues)
    for spec in model.queues:
        expected = queues[spec.logical_id]
        attrs = aws["sqs"].get_queue_attributes(
            QueueUrl=aws["urls"][spec.logical_id], AttributeNames=["All"])["Attributes"]

        visibility = expected.get("VisibilityTimeout", 30)
        if isinstance(visibility, dict):  # !Ref Parameter → its default
            visibility = params[visibility["Ref"]]
        assert int(attrs["VisibilityTimeout"]) == int(visibility)
        if "MessageRetentionPeriod" in expected:
            assert int(attrs["MessageRetentionPeriod"]) == int(expected["MessageRetentionPeriod"])
        redrive = expected.get("RedrivePolicy")
        if redrive:
            got = json.loads(attrs["RedrivePolicy"])
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert int(got["maxReceiveCount"]) == int(redrive["maxReceiveCount"])
            assert got["deadLetterTargetArn"] == model.queue(target).arn
        else:
            assert "RedrivePolicy" not in attrs


def test_given_jobs_queue_when_bootstrapped_then_three_receives_before_dlq(
    created: tuple[TemplateModel, dict[str, Any]],
) -> None:
    _, aws = created
    attrs = aws["sqs"].get_queue_attributes(QueueUrl=aws["urls"]["JobsQueue"],
                                            AttributeNames=["RedrivePolicy"])["Attributes"]
    assert json.loads(attrs["RedrivePolicy"])["maxReceiveCount"] == 3


def test_given_override_when_bootstrapped_then_every_queue_uses_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        model = build_model(TEMPLATE, "https://sqs.us-east-1.amazonaws.com")
        clients = {s: boto3.client(s, region_name="us-east-1") for s in ("dynamodb", "sqs", "s3")}

        urls = create_resources(model, clients, visibility_timeout_override_s=5)

        for url in urls.values():
            attrs = clients["sqs"].get_queue_attributes(QueueUrl=url,
                                                        AttributeNames=["VisibilityTimeout"])
            assert attrs["Attributes"]["VisibilityTimeout"] == "5"


def test_given_template_buckets_when_bootstrapped_then_they_exist(
    raw: dict[str, Any], created: tuple[TemplateModel, dict[str, Any]],
) -> None:
    model, aws = created
    names = {b["Name"] for b in aws["s3"].list_buckets()["Buckets"]}
    assert {b.name for b in model.buckets} <= names
    assert len(model.buckets) == len(_resources(raw, "AWS::S3::Bucket"))


def test_given_template_functions_when_modelled_then_contract_routes_and_sources(
    created: tuple[TemplateModel, dict[str, Any]],
) -> None:
    model, _ = created
    routes = {r.route_key: f.logical_id for f in model.functions for r in f.routes}
    sources = {(f.logical_id, s.queue_logical_id, s.batch_size, s.report_batch_item_failures)
               for f in model.functions for s in f.sqs_sources}

    assert routes["POST /api/backtests/run-async"] == "SubmitFunction"
    assert routes["GET /api/backtests/status/{task_id}"] == "StatusFunction"
    assert routes["GET /api/backtests/history"] == "HistoryFunction"
    assert routes["GET /api/backtests/{run_id}"] == "ResultsFunction"
    assert routes["GET /api/health"] == "DocsFunction"
    assert ("WorkerFunction", "JobsQueue", 1, True) in sources
    assert ("DlqFunction", "JobsDeadLetterQueue", 10, True) in sources
    worker = next(f for f in model.functions if f.logical_id == "WorkerFunction")
    assert worker.environment["JOBS_QUEUE_URL"] == model.queue("JobsQueue").url
    assert worker.code_dir == ROOT / "functions" / "worker"


def test_given_template_state_machines_when_bootstrapped_then_definitions_match_their_files(
    raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    machines = _resources(raw, "AWS::Serverless::StateMachine")
    with mock_aws():
        model = build_model(TEMPLATE, "https://sqs.us-east-1.amazonaws.com")
        clients = {s: boto3.client(s, region_name="us-east-1")
                   for s in ("dynamodb", "sqs", "s3", "stepfunctions")}
        urls = create_resources(model, clients)
        assert {m.logical_id for m in model.state_machines} == set(machines)
        for spec in model.state_machines:
            desc = clients["stepfunctions"].describe_state_machine(stateMachineArn=spec.arn)
            text = (ROOT / machines[spec.logical_id]["DefinitionUri"]).read_text()
            expected = text.replace("${JobsQueueUrl}", urls["JobsQueue"])
            assert json.loads(desc["definition"]) == json.loads(expected)
            worker = next(f for f in model.functions if f.logical_id == "WorkerFunction")
            assert worker.environment["STATE_MACHINE_ARN"] == spec.arn
