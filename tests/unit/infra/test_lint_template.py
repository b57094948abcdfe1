"""infra.lint_template catches what plain cfn-lint misses: templates the SAM transform rejects."""

from __future__ import annotations

from pathlib import Path

from infra.lint_template import main

# cfn-lint 1.x validates this against SAM's schema and accepts it, but SAM's transform
# refuses a conditional Auth on an API (aws/serverless-application-model#1859): exactly the
# mistake that would otherwise surface only during `sam deploy`.
SAM_REJECTS = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  JwtIssuer:
    Type: String
    Default: ""
Conditions:
  HasJwt: !Not [!Equals [!Ref JwtIssuer, ""]]
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth: !If
        - HasJwt
        - Authorizers:
            Jwt:
              JwtConfiguration: {issuer: !Ref JwtIssuer, audience: [x]}
              IdentitySource: $request.header.Authorization
          DefaultAuthorizer: Jwt
        - !Ref AWS::NoValue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.lambda_handler
      CodeUri: functions/x
      Events:
        Get:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /x, Method: GET}
"""


def test_given_a_template_sam_rejects_when_linted_then_the_transform_stage_fails(
    tmp_path: Path, capsys
):
    path = tmp_path / "template.yaml"
    path.write_text(SAM_REJECTS)
    assert main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "cfn-lint (SAM template):         0 finding(s)" in out
    assert "[SAM]" in out and "Api" in out


def test_given_a_missing_file_then_usage_error(tmp_path: Path):
    assert main([str(tmp_path / "nope.yaml")]) == 2
