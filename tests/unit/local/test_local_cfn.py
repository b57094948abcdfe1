"""Template loading and intrinsic resolution of the local harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.local.cfn import Resolver, UnresolvableError, load_template
from infra.local.template_model import build_model

TEMPLATE = """
Parameters:
  Env: {Type: String, Default: dev}
  Origins: {Type: CommaDelimitedList, Default: "https://a.test,https://b.test"}
  Visibility: {Type: Number, Default: 120}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
Globals:
  Function:
    Timeout: 7
    Environment:
      Variables:
        TABLE: !Ref Table
        QUEUE: !Ref Queue
        QUEUE_ARN: !GetAtt Queue.Arn
        NAME: !Sub "${AWS::StackName}-${Env}"
        LEVEL: !If [IsProd, INFO, DEBUG]
        JOINED: !Join [":", [a, !Ref Env]]
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: {AllowOrigins: !Ref Origins, AllowMethods: [get]}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-tasks"
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
  Dead:
    Type: AWS::SQS::Queue
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: !Ref Visibility
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dead.Arn, maxReceiveCount: 4}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/one
      Handler: main.handle
      Environment:
        Variables:
          EXTRA: !If [NotProd, yes-extra, !Ref AWS::NoValue]
      Events:
        Get: {Type: HttpApi, Properties: {Path: "/x/{id}", Method: get}}
        Jobs: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn, BatchSize: 3}}
"""


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return path


def test_given_short_tags_when_loaded_then_long_form_intrinsics(template: Path) -> None:
    doc = load_template(template)
    env = doc["Globals"]["Function"]["Environment"]["Variables"]

    assert env["TABLE"] == {"Ref": "Table"}
    assert env["QUEUE_ARN"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert env["LEVEL"] == {"Fn::If": ["IsProd", "INFO", "DEBUG"]}


def test_given_template_when_modelled_then_names_refs_and_conditions_resolve(
    template: Path,
) -> None:
    model = build_model(template, "http://127.0.0.1:5000", stack_name="s")
    fn = model.functions[0]

    assert fn.environment == {
        "TABLE": "s-tasks",
        "QUEUE": "http://127.0.0.1:5000/123456789012/s-Queue",
        "QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:s-Queue",
        "NAME": "s-dev",
        "LEVEL": "DEBUG",
        "JOINED": "a:dev",
        "EXTRA": "yes-extra",
    }
    assert fn.timeout_s == 7 and fn.handler == "main.handle"
    assert fn.code_dir == (template.parent / "fns" / "one").resolve()
    assert [r.route_key for r in fn.routes] == ["GET /x/{id}"]
    assert [(s.queue_logical_id, s.batch_size, s.report_batch_item_failures)
            for s in fn.sqs_sources] == [("Queue", 3, False)]
    queue = model.queue("Queue")
    assert (queue.visibility_timeout_s, queue.redrive_target, queue.max_receive_count) == (
        120, "Dead", 4)
    assert model.cors is not None
    assert model.cors.allow_origins == ["https://a.test", "https://b.test"]
    assert model.cors.allow_methods == ["GET"]


def test_given_overrides_when_modelled_then_conditions_follow(template: Path) -> None:
    model = build_model(template, "http://h", stack_name="s",
                        parameter_overrides={"Env": "prod", "Visibility": "9"})

    env = model.functions[0].environment
    assert env["LEVEL"] == "INFO" and "EXTRA" not in env  # AWS::NoValue drops the key
    assert model.queue("Queue").visibility_timeout_s == 9
    with pytest.raises(ValueError, match="Nope"):
        build_model(template, "http://h", parameter_overrides={"Nope": "1"})


def test_given_sub_forms_when_resolved_then_literals_and_variables() -> None:
    r = Resolver(parameters={"P": "v"}, pseudo={"AWS::Region": "us-east-1"},
                 refs={"R": "name"}, attrs={("R", "Arn"): "arn:r"})

    assert r.resolve({"Fn::Sub": "${P}/${AWS::Region}/${R}/${R.Arn}/${!Literal}"}) == (
        "v/us-east-1/name/arn:r/${Literal}")
    assert r.resolve({"Fn::Sub": ["${X}-${P}", {"X": {"Ref": "R"}}]}) == "name-v"
    with pytest.raises(UnresolvableError, match="Missing"):
        r.resolve({"Ref": "Missing"})
