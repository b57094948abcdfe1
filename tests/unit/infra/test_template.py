"""Properties of template.yaml that can silently break the service when someone edits it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]

# The API routes of docs/api.md → the function that serves them (docs/contracts.md).
ROUTES = {
    ("POST", "/api/backtests/run-async"): "SubmitFunction",
    ("POST", "/api/sweeps/run-async"): "SubmitFunction",  # docs/sweeps.md
    ("GET", "/api/backtests/status/{task_id}"): "StatusFunction",
    ("DELETE", "/api/backtests/tasks/{task_id}"): "CancelFunction",
    ("GET", "/api/backtests/history"): "HistoryFunction",
    ("GET", "/api/backtests/{run_id}"): "ResultsFunction",
    ("GET", "/api/backtests/{run_id}/download"): "ResultsFunction",
    ("GET", "/api/backtests/{run_id}/trades.csv"): "ResultsFunction",
    ("POST", "/api/backtests/run"): "RunSyncFunction",
    ("GET", "/api/data/inventory"): "DataFunction",  # docs/data.md
    ("GET", "/api/candles"): "CandlesFunction",  # docs/console.md
    ("GET", "/api/strategies"): "StrategiesFunction",
    ("GET", "/api/strategies/schema"): "StrategiesFunction",  # rule documents
    ("GET", "/api/strategies/{name}"): "StrategiesFunction",
    ("PUT", "/api/strategies/{name}"): "StrategiesFunction",
    ("DELETE", "/api/strategies/{name}"): "StrategiesFunction",
    ("GET", "/api/health"): "DocsFunction",
    ("GET", "/api/openapi.json"): "DocsFunction",
    ("GET", "/api/docs"): "DocsFunction",
}
# Not an API route of docs/api.md: unknown paths/methods reach DocsFunction so even a 404 is {"detail": ...}.
CATCH_ALL = ("ANY", "/{proxy+}")
PUBLIC_ROUTES = {
    CATCH_ALL,
    ("GET", "/api/strategies/schema"),
    ("GET", "/api/health"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
}
FUNCTION_DIRS = {
    "SubmitFunction": "functions/submit",
    "StatusFunction": "functions/status",
    "CancelFunction": "functions/cancel",
    "HistoryFunction": "functions/history",
    "ResultsFunction": "functions/results",
    "RunSyncFunction": "functions/run_sync",
    "DataFunction": "functions/data",
    "CandlesFunction": "functions/candles",
    "StrategiesFunction": "functions/strategies",
    "DocsFunction": "functions/docs",
    "WorkerFunction": "functions/worker",
    "DlqFunction": "functions/dlq",
    "WsConnectFunction": "functions/ws_connect",
    "WsDisconnectFunction": "functions/ws_disconnect",
    "WsAuthorizerFunction": "functions/ws_authorizer",
    "WsPushFunction": "functions/ws_push",
    "ReaperFunction": "functions/reaper",
    "IngestFunction": "functions/ingest",
}
ENGINE_FUNCTIONS = {"WorkerFunction", "RunSyncFunction", "IngestFunction", "CandlesFunction"}
CONTRACT_ENV_VARS = {
    "TASKS_TABLE",
    "IDEMPOTENCY_TABLE",
    "JOBS_QUEUE_URL",
    "BUCKET",
    "DATA_PREFIX",
    "RESULTS_PREFIX",
    "TASK_TTL_HOURS",
    "LEASE_SECONDS",
    "ENVIRONMENT",
    "SYNC_MAX_CANDLES",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}
DASHBOARD_METRICS = {
    "BacktestsSubmitted",
    "BacktestsCompleted",
    "BacktestsFailed",
    "BacktestsCancelled",
    "BacktestDuration",
    "CandlesProcessed",
}


def resources_of(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of(template, "AWS::Serverless::Function")


def events(template: dict[str, Any], etype: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (fid, event["Properties"])
        for fid, fn in functions(template).items()
        for event in (fn["Properties"].get("Events") or {}).values()
        if event["Type"] == etype
    ]


def default(template: dict[str, Any], parameter: str) -> Any:
    return template["Parameters"][parameter]["Default"]


def global_env(template: dict[str, Any]) -> dict[str, Any]:
    return template["Globals"]["Function"]["Environment"]["Variables"]


def statements(fn: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of a function's policies, both branches of a conditional policy."""
    out = []
    for policy in fn["Properties"].get("Policies") or []:
        branches = policy["Fn::If"][1:] if "Fn::If" in policy else [policy]
        out += [s for branch in branches if "Statement" in branch for s in branch["Statement"]]
    return out


def runner_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    role = template["Resources"]["RunnerTaskRole"]["Properties"]
    return [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


def granted_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(owner, statement) of every function policy and of the Fargate runner's task role."""
    return [(fid, s) for fid, fn in functions(template).items() for s in statements(fn)] + [
        ("RunnerTaskRole", s) for s in runner_statements(template)
    ]


# ---------------------------------------------------------------- routes and functions
def test_given_the_template_then_functions_are_exactly_those_of_the_contract(template):
    assert {fid: fn["Properties"]["CodeUri"] for fid, fn in functions(template).items()} == (
        FUNCTION_DIRS
    )


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
def test_given_a_spec_route_then_exactly_one_http_api_event_serves_it_from_its_function(
    template, route
):
    method, path = route
    owners = [
        fid
        for fid, props in events(template, "HttpApi")
        if (props["Method"].upper(), props["Path"]) == route
    ]
    assert owners == [ROUTES[route]], f"{method} {path} served by {owners}"


def test_given_the_http_api_events_then_no_route_exists_beyond_spec_section_5(template):
    declared = [(p["Method"].upper(), p["Path"]) for _, p in events(template, "HttpApi")]
    assert sorted(declared) == sorted([*ROUTES, CATCH_ALL])
    assert all(p["ApiId"] == {"Ref": "BacktestApi"} for _, p in events(template, "HttpApi"))


@pytest.mark.parametrize("function_id", sorted(FUNCTION_DIRS))
def test_given_a_function_then_its_code_uri_holds_app_py_with_the_handler(template, function_id):
    # Fails while the function folders are still being written; the template is right then.
    fn = functions(template)[function_id]["Properties"]
    handler = fn.get("Handler", template["Globals"]["Function"]["Handler"])
    module, attr = handler.split(".")
    source = ROOT / fn["CodeUri"] / f"{module}.py"
    assert source.is_file(), f"{source} is missing"
    assert f"def {attr}(" in source.read_text()


def test_given_the_openapi_body_then_it_lists_every_event_route_and_protects_all_but_public(
    template,
):
    body = template["Resources"]["BacktestApi"]["Properties"]["DefinitionBody"]
    def method_of(key: str) -> str:
        return "ANY" if key == "x-amazon-apigateway-any-method" else key.upper()

    in_body = {(method_of(m), p) for p, item in body["paths"].items() for m in item}
    assert in_body == {*ROUTES, CATCH_ALL}, "DefinitionBody paths and function events disagree"
    for path, item in body["paths"].items():
        for method, operation in item.items():
            route = (method_of(method), path)
            security = (operation or {}).get("security")
            if route in PUBLIC_ROUTES:
                assert security is None, f"{route} is public by design"
            else:
                assert security == {
                    "Fn::If": ["HasJwtAuthorizer", [{"JwtAuthorizer": []}], {"Ref": "AWS::NoValue"}]
                }, f"{route} must use the conditional JWT authorizer"
    schemes = body["components"]["securitySchemes"]["Fn::If"]
    assert schemes[0] == "HasJwtAuthorizer"
    assert schemes[1]["JwtAuthorizer"]["x-amazon-apigateway-authorizer"]["type"] == "jwt"
    assert template["Conditions"]["HasJwtAuthorizer"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "JwtIssuer"}, ""]}]
    }


def test_given_cors_then_it_allows_the_spec_methods_and_headers_from_the_parameter(template):
    body = template["Resources"]["BacktestApi"]["Properties"]["DefinitionBody"]
    cors = body["x-amazon-apigateway-cors"]
    # the parameter's origins, plus the console's CloudFront origin unless it is "*"
    condition, any_origin, listed = cors["allowOrigins"]["Fn::If"]
    assert (condition, any_origin) == ("AllowsAnyOrigin", ["*"])
    sub, values = listed["Fn::Split"][1]["Fn::Sub"]
    assert sub == "${Origins},https://${ConsoleDistribution.DomainName}"
    assert values["Origins"] == {"Fn::Join": [",", {"Ref": "AllowedOrigins"}]}
    assert template["Conditions"]["AllowsAnyOrigin"] == {
        "Fn::Equals": [{"Fn::Join": [",", {"Ref": "AllowedOrigins"}]}, "*"]}
    assert set(cors["allowMethods"]) == {"GET", "POST", "DELETE", "OPTIONS"}
    assert {"Content-Type", "Authorization", "Idempotency-Key"} <= set(cors["allowHeaders"])
    assert "Retry-After" in cors["exposeHeaders"]


# ---------------------------------------------------------------- layers
def effective_layers(template: dict[str, Any], fn: dict[str, Any]) -> list[Any]:
    # SAM appends a function's Layers to those of Globals.
    return template["Globals"]["Function"].get("Layers", []) + fn["Properties"].get("Layers", [])


def test_given_any_function_then_it_has_the_core_layer(template):
    for fid, fn in functions(template).items():
        assert {"Ref": "CoreLayer"} in effective_layers(template, fn), fid


def test_given_the_engine_layer_then_only_the_functions_reading_candles_have_it(template):
    with_engine = {
        fid
        for fid, fn in functions(template).items()
        if {"Ref": "EngineLayer"} in effective_layers(template, fn)
    }
    assert with_engine == ENGINE_FUNCTIONS


@pytest.mark.parametrize(
    ("layer", "uri"),
    [("CoreLayer", "layers/core"), ("EngineLayer", "layers/engine"),
     ("IngestLayer", "layers/ingest")],
)
def test_given_a_layer_then_sam_builds_it_for_python_3_12(template, layer, uri):
    res = template["Resources"][layer]
    assert res["Properties"]["ContentUri"] == uri
    assert res["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert res["Metadata"]["BuildMethod"] == "python3.12"
    assert template["Globals"]["Function"]["Runtime"] == "python3.12"


# ---------------------------------------------------------------- queues
def test_given_default_parameters_then_jobs_visibility_is_at_least_six_worker_timeouts(template):
    worker = functions(template)["WorkerFunction"]["Properties"]
    assert worker["Timeout"] == {"Ref": "WorkerTimeoutSeconds"}
    queue = template["Resources"]["JobsQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == {"Ref": "JobsVisibilityTimeoutSeconds"}
    assert default(template, "JobsVisibilityTimeoutSeconds") >= 6 * default(
        template, "WorkerTimeoutSeconds"
    )
    assert template["Parameters"]["WorkerTimeoutSeconds"]["MaxValue"] <= 900  # Lambda maximum


def test_given_the_dlq_then_its_visibility_covers_the_dlq_function_timeout(template):
    # Lambda refuses an SQS event source whose queue visibility is below the function timeout.
    dlq_fn = functions(template)["DlqFunction"]["Properties"]
    timeout = dlq_fn.get("Timeout", template["Globals"]["Function"]["Timeout"])
    assert (
        template["Resources"]["JobsDeadLetterQueue"]["Properties"]["VisibilityTimeout"] >= timeout
    )


def test_given_the_jobs_queue_then_three_receives_lead_to_the_dead_letter_queue(template):
    queue = template["Resources"]["JobsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]
    }
    dlq = template["Resources"]["JobsDeadLetterQueue"]["Properties"]
    assert dlq["MessageRetentionPeriod"] == 14 * 86400
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True


def test_given_the_fargate_watchdog_then_it_allows_as_many_attempts_as_sqs_receives(template):
    from backtest_core.usecases.long_run import MAX_ATTEMPTS

    queue = template["Resources"]["JobsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_ATTEMPTS


def test_given_both_sqs_events_then_they_report_batch_item_failures(template):
    sqs = {fid: props for fid, props in events(template, "SQS")}
    assert set(sqs) == {"WorkerFunction", "DlqFunction"}
    for props in sqs.values():
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs["WorkerFunction"]["Queue"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    assert sqs["WorkerFunction"]["BatchSize"] == 1
    assert sqs["WorkerFunction"]["ScalingConfig"]["MaximumConcurrency"] == {
        "Ref": "WorkerMaxConcurrency"
    }
    assert template["Parameters"]["WorkerMaxConcurrency"]["MinValue"] >= 2
    assert sqs["DlqFunction"]["Queue"] == {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}


# ---------------------------------------------------------------- tables and bucket
def test_given_the_tasks_table_then_key_ttl_and_indexes_match_the_contract(template):
    from backtest_core.repository import LEASE_INDEX, OWNER_INDEX

    table = template["Resources"]["TasksTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "task_id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    owner, lease = table["GlobalSecondaryIndexes"]
    assert owner["IndexName"] == OWNER_INDEX == "owner-created_at-index"
    assert owner["KeySchema"] == [
        {"AttributeName": "owner", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    assert lease["IndexName"] == LEASE_INDEX == "status-lease_expires_at-index"
    assert lease["KeySchema"] == [
        {"AttributeName": "status", "KeyType": "HASH"},
        {"AttributeName": "lease_expires_at", "KeyType": "RANGE"},
    ]
    assert owner["Projection"] == lease["Projection"] == {"ProjectionType": "ALL"}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert types == {"task_id": "S", "owner": "S", "created_at": "S", "status": "S",
                     "lease_expires_at": "N"}


def test_given_the_reaper_then_it_runs_every_minute_with_least_privilege_and_an_alarm(template):
    reaper = functions(template)["ReaperFunction"]["Properties"]
    (event,) = reaper["Events"].values()
    assert event == {"Type": "Schedule", "Properties": {
        "Schedule": "rate(1 minute)", "Description": event["Properties"]["Description"]}}
    queue = template["Resources"]["JobsQueue"]["Properties"]
    assert reaper["Environment"]["Variables"]["JOBS_MAX_RECEIVES"] == str(
        queue["RedrivePolicy"]["maxReceiveCount"])
    assert global_env(template)["JOBS_VISIBILITY_TIMEOUT_S"] == {
        "Ref": "JobsVisibilityTimeoutSeconds"}
    (policy,) = reaper["Policies"]
    grants = {(tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],),
               json.dumps(s["Resource"], sort_keys=True)) for s in policy["Statement"]}
    assert grants == {
        (("dynamodb:Query",),
         json.dumps({"Fn::Sub": "${TasksTable.Arn}/index/status-lease_expires_at-index"})),
        (("dynamodb:UpdateItem",), json.dumps({"Fn::GetAtt": ["TasksTable", "Arn"]})),
        (("sqs:SendMessage",), json.dumps({"Fn::GetAtt": ["JobsQueue", "Arn"]})),
    }
    alarm = template["Resources"]["TasksReapedAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AsyncBacktest", "TasksReaped")
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_given_the_idempotency_table_then_it_has_powertools_key_and_ttl(template):
    table = template["Resources"]["IdempotencyTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_given_default_ttl_then_results_expire_after_ceil_ttl_hours_over_24_days(template):
    days = default(template, "ResultsExpirationDays")
    assert days == math.ceil(default(template, "TaskTtlHours") / 24)
    bucket = template["Resources"]["DataBucket"]["Properties"]
    (rule,) = [r for r in bucket["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
    assert rule["Prefix"] == global_env(template)["RESULTS_PREFIX"]
    assert rule["ExpirationInDays"] == {"Ref": "ResultsExpirationDays"}


def test_given_the_bucket_then_it_is_private_encrypted_and_tls_only(template):
    bucket = template["Resources"]["DataBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    policy = template["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
        for s in policy["Statement"]
    )


# ---------------------------------------------------------------- environment and IAM
def test_given_globals_then_every_contract_env_var_is_set(template):
    env = global_env(template)
    assert set(env) >= CONTRACT_ENV_VARS
    assert env["DATA_PREFIX"] == "data/" and env["RESULTS_PREFIX"] == "results/"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "AsyncBacktest"
    assert env["TASKS_TABLE"] == {"Ref": "TasksTable"}
    assert env["JOBS_QUEUE_URL"] == {"Ref": "JobsQueue"}


def test_given_function_policies_then_no_statement_grants_a_wildcard_resource(template):
    for fid, statement in granted_statements(template):
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        assert "*" not in resources, fid
        actions = statement["Action"]
        actions = actions if isinstance(actions, list) else [actions]
        assert not any(a.endswith(":*") for a in actions), fid


def test_given_s3_object_grants_then_they_are_scoped_to_the_data_or_results_prefix(template):
    env = global_env(template)
    allowed = {
        f"${{DataBucket.Arn}}/{env['DATA_PREFIX']}*",
        f"${{DataBucket.Arn}}/{env['RESULTS_PREFIX']}*",
    }
    for fid, statement in granted_statements(template):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if any(a.startswith("s3:") and a != "s3:ListBucket" for a in actions):
            assert statement["Resource"]["Fn::Sub"] in allowed, fid


def test_given_api_functions_without_aws_access_then_they_have_no_policies(template):
    for fid in ("DocsFunction",):
        assert "Policies" not in functions(template)[fid]["Properties"]


def test_given_any_function_then_it_has_a_log_group_with_retention(template):
    groups = resources_of(template, "AWS::Logs::LogGroup")
    named = {g["Properties"]["LogGroupName"].get("Fn::Sub") for g in groups.values()}
    for fid in functions(template):
        assert f"/aws/lambda/${{{fid}}}" in named, fid
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


# ---------------------------------------------------------------- observability and outputs
def test_given_the_dashboard_then_it_charts_every_custom_metric_for_the_service(template):
    body_template, variables = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"][
        "Fn::Sub"
    ]
    assert variables["Service"] == global_env(template)["POWERTOOLS_SERVICE_NAME"]
    body = json.loads(body_template)  # valid JSON before substitution too
    metrics = [m for w in body["widgets"] for m in w["properties"].get("metrics", [])]
    custom = {m[1] for m in metrics if m[0] == "AsyncBacktest"}
    assert custom == DASHBOARD_METRICS
    assert all(m[2:4] == ["service", "${Service}"] for m in metrics if m[0] == "AsyncBacktest")
    assert any(m[0] == "AWS/SQS" for m in metrics)


def test_given_the_alarms_then_dlq_worker_errors_and_queue_age_are_watched(template):
    alarms = resources_of(template, "AWS::CloudWatch::Alarm").values()
    watched = {
        (a["Properties"]["MetricName"], json.dumps(a["Properties"]["Dimensions"][0]["Value"]))
        for a in alarms
    }
    assert (
        "ApproximateNumberOfMessagesVisible",
        '{"Fn::GetAtt": ["JobsDeadLetterQueue", "QueueName"]}',
    ) in watched
    assert ("Errors", '{"Ref": "WorkerFunction"}') in watched
    assert (
        "ApproximateAgeOfOldestMessage",
        '{"Fn::GetAtt": ["JobsQueue", "QueueName"]}',
    ) in watched


def test_given_the_outputs_then_clients_find_api_table_queues_and_bucket(template):
    assert {"ApiUrl", "TasksTableName", "JobsQueueUrl", "DeadLetterQueueUrl", "BucketName"} <= set(
        template["Outputs"]
    )


def test_given_samconfig_then_each_environment_deploys_known_parameters(template):
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["version"] == 0.1
    for env_name, expected in (("default", "dev"), ("prod", "prod")):
        deploy = config[env_name]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM" and deploy["resolve_s3"] is True
        overrides = dict(item.split("=", 1) for item in deploy["parameter_overrides"].split())
        assert set(overrides) <= set(template["Parameters"]), f"[{env_name}] unknown parameter"
        assert overrides["Environment"] == expected


# ---------------------------------------------------------------- Fargate runner (long runs)
FARGATE_RESOURCES = {
    "RunnerCluster": "AWS::ECS::Cluster",
    "RunnerLogGroup": "AWS::Logs::LogGroup",
    "RunnerExecutionRole": "AWS::IAM::Role",
    "RunnerTaskRole": "AWS::IAM::Role",
    "RunnerTaskDefinition": "AWS::ECS::TaskDefinition",
}


def test_given_default_parameters_then_fargate_is_off_and_its_resources_are_conditional(template):
    assert default(template, "FargateImageUri") == ""
    assert template["Conditions"]["HasFargate"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "FargateImageUri"}, ""]}]
    }
    conditional = {lid: r["Type"] for lid, r in template["Resources"].items()
                   if r.get("Condition") == "HasFargate"}
    assert conditional == FARGATE_RESOURCES
    worker_env = functions(template)["WorkerFunction"]["Properties"]["Environment"]["Variables"]
    assert {k for k in worker_env if k.startswith("FARGATE_")} == {
        "FARGATE_MIN_CANDLES", "FARGATE_CLUSTER", "FARGATE_TASK_DEFINITION", "FARGATE_SUBNETS",
        "FARGATE_SECURITY_GROUPS", "FARGATE_CONTAINER"}
    for name, value in worker_env.items():
        if name.startswith("FARGATE_"):
            condition, _, otherwise = value["Fn::If"]
            assert condition == "HasFargate" and otherwise == {"Ref": "AWS::NoValue"}, name


def test_given_the_runner_task_definition_then_it_runs_the_container_like_the_functions(template):
    props = template["Resources"]["RunnerTaskDefinition"]["Properties"]
    assert props["RequiresCompatibilities"] == ["FARGATE"] and props["NetworkMode"] == "awsvpc"
    assert (default(template, "FargateCpu"), default(template, "FargateMemory")) == ("1024", "4096")
    (container,) = props["ContainerDefinitions"]
    assert container["Name"] == "runner"  # = FARGATE_CONTAINER of the worker
    assert container["Image"] == {"Ref": "FargateImageUri"}
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env == global_env(template), "the container's settings drifted from Globals"
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "RunnerLogGroup"}
    group = template["Resources"]["RunnerLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_given_the_worker_then_it_may_start_only_the_runner_and_pass_only_its_roles(template):
    worker = functions(template)["WorkerFunction"]
    (conditional,) = [p["Fn::If"] for p in worker["Properties"]["Policies"] if "Fn::If" in p]
    assert conditional[0] == "HasFargate" and conditional[2] == {"Ref": "AWS::NoValue"}
    by_action = {s["Action"]: s for s in conditional[1]["Statement"]}
    assert by_action["ecs:RunTask"]["Resource"] == {"Ref": "RunnerTaskDefinition"}
    assert by_action["iam:PassRole"]["Resource"] == [
        {"Fn::GetAtt": ["RunnerTaskRole", "Arn"]}, {"Fn::GetAtt": ["RunnerExecutionRole", "Arn"]}]
    assert by_action["sqs:SendMessage"]["Resource"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    execution = template["Resources"]["RunnerExecutionRole"]["Properties"]
    assert execution["ManagedPolicyArns"] == [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/"
                                               "service-role/AmazonECSTaskExecutionRolePolicy"}]
    actions = {a for s in runner_statements(template)
               for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert actions == {"dynamodb:GetItem", "dynamodb:UpdateItem", "s3:GetObject", "s3:ListBucket",
                       "s3:PutObject", "s3:DeleteObject"}
