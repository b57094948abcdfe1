"""Typed view of template.yaml: what the local harness creates, loads and routes.

``build_model(path, endpoint_url)`` parses the SAM template, gives every resource a local
physical name (the template's own name property when set, else ``{stack}-{LogicalId}``),
resolves ``!Ref``/``!GetAtt``/``!Sub``/``!If`` against parameter defaults and those local
names, and returns frozen specs: tables, queues, buckets, functions (with their merged
environment, HttpApi routes and SQS event sources) and the HttpApi CORS configuration.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local.cfn import Resolver, load_template
from infra.local.naming import ACCOUNT_ID, register_physical_names

DEFAULT_STACK_NAME = "backtest-local"
log = logging.getLogger("local.template")


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]]
    ttl_attribute: str | None
    billing_mode: str
    stream_view_type: str | None = None  # StreamSpecification (None: no stream)


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str
    url: str
    arn: str
    visibility_timeout_s: int
    retention_s: int | None
    redrive_target: str | None  # logical id of the dead-letter queue
    max_receive_count: int | None
    fifo: bool = False


@dataclass(frozen=True)
class BucketSpec:
    logical_id: str
    name: str


@dataclass(frozen=True)
class RouteSpec:
    method: str  # upper case, or ANY
    path: str  # API Gateway form, e.g. /api/backtests/status/{task_id}

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class SqsSourceSpec:
    queue_logical_id: str
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool = True


@dataclass(frozen=True)
class StreamSourceSpec:
    """A DynamoDB event: the function reads the table's stream (infra/local/streams.py)."""

    table_logical_id: str
    batch_size: int
    report_batch_item_failures: bool
    max_retries: int  # MaximumRetryAttempts (-1 = until the record expires)
    event_names: tuple[str, ...] = ()  # from a FilterCriteria on eventName; () = all


@dataclass(frozen=True)
class ScheduleSpec:
    """An EventBridge schedule event (SAM ``Schedule``/``ScheduleV2``): ``rate(...)`` only."""

    rate_s: int
    enabled: bool = True


_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400,
               "days": 86400}


def parse_rate(expression: str) -> int:
    """Seconds of ``rate(5 minutes)``; ValueError for anything else (cron is not emulated)."""
    inner = expression.strip()
    if not (inner.startswith("rate(") and inner.endswith(")")):
        raise ValueError(f"only rate() schedules are emulated locally, not {expression!r}")
    value, _, unit = inner[5:-1].strip().partition(" ")
    return int(value) * _RATE_UNITS[unit.strip()]


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str  # "app.lambda_handler"
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int
    routes: list[RouteSpec] = field(default_factory=list)
    sqs_sources: list[SqsSourceSpec] = field(default_factory=list)
    stream_sources: list[StreamSourceSpec] = field(default_factory=list)
    websocket_routes: list[str] = field(default_factory=list)  # "$connect", "$disconnect"
    schedules: list[ScheduleSpec] = field(default_factory=list)
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class StateMachineSpec:
    logical_id: str
    name: str
    arn: str
    definition: str  # the DefinitionUri file with DefinitionSubstitutions applied


@dataclass(frozen=True)
class CorsSpec:
    allow_origins: list[str]
    allow_methods: list[str]
    allow_headers: list[str]
    expose_headers: list[str]
    max_age_s: int | None
    allow_credentials: bool


@dataclass(frozen=True)
class TemplateModel:
    tables: list[TableSpec]
    queues: list[QueueSpec]
    buckets: list[BucketSpec]
    functions: list[FunctionSpec]
    cors: CorsSpec | None
    region: str
    stack_name: str
    state_machines: list[StateMachineSpec] = field(default_factory=list)

    def queue(self, logical_id: str) -> QueueSpec:
        return next(q for q in self.queues if q.logical_id == logical_id)


def build_model(
    path: str | Path,
    endpoint_url: str,
    region: str = "us-east-1",
    stack_name: str = DEFAULT_STACK_NAME,
    parameter_overrides: dict[str, str] | None = None,
) -> TemplateModel:
    """Parse ``path`` and resolve it for an emulator listening at ``endpoint_url``.

    ``parameter_overrides`` replaces parameter defaults, like ``sam deploy
    --parameter-overrides`` (unknown names are an error, to catch typos).
    """
    path = Path(path)
    doc = load_template(path)
    resources: dict[str, dict[str, Any]] = doc["Resources"]
    declared = doc.get("Parameters") or {}
    params = {k: v.get("Default") for k, v in declared.items()}
    for key, value in (parameter_overrides or {}).items():
        if key not in params:
            raise ValueError(f"parameter override {key!r}: no such template parameter")
        params[key] = value
    for key, decl in declared.items():  # list parameters resolve to lists, as on AWS
        kind = str(decl.get("Type", ""))
        if (kind == "CommaDelimitedList" or kind.startswith("List<")) and isinstance(
            params[key], str
        ):
            params[key] = [item.strip() for item in params[key].split(",")]
    pseudo = {
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local",
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    r = Resolver(parameters=params, pseudo=pseudo, conditions=doc.get("Conditions") or {})
    register_physical_names(r, resources, endpoint_url.rstrip("/"), region, stack_name)
    globals_fn = r.resolve((doc.get("Globals") or {}).get("Function") or {})
    # A resource whose Condition is false does not exist (e.g. IngestFunction without symbols).
    by_type = _group({lid: res for lid, res in resources.items()
                      if "Condition" not in res or r.condition(res["Condition"])})
    queues = [_queue(r, lid, res) for lid, res in by_type.get("AWS::SQS::Queue", [])]
    arn_to_queue = {q.arn: q.logical_id for q in queues}
    arn_to_queue.update({r.attrs[(lid, "StreamArn")]: lid  # stream ARN -> its table
                         for lid, _ in by_type.get("AWS::DynamoDB::Table", [])})
    ws_routes = _websocket_routes(r, resources)
    return TemplateModel(
        tables=[_table(r, lid, res) for lid, res in by_type.get("AWS::DynamoDB::Table", [])],
        queues=queues,
        buckets=[BucketSpec(lid, r.refs[lid]) for lid, _ in by_type.get("AWS::S3::Bucket", [])],
        functions=[
            _function(r, lid, res, globals_fn, path.parent, arn_to_queue, ws_routes.get(lid, []))
            for lid, res in by_type.get("AWS::Serverless::Function", [])
            if "Condition" not in res or r.condition(res["Condition"])
        ],
        cors=_cors(r, doc, by_type.get("AWS::Serverless::HttpApi", [])),
        region=region,
        stack_name=stack_name,
        state_machines=[_state_machine(r, lid, res, path.parent)
                        for lid, res in by_type.get("AWS::Serverless::StateMachine", [])],
    )


def _group(resources: dict[str, dict[str, Any]]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for lid, res in resources.items():
        out.setdefault(res.get("Type", ""), []).append((lid, res))
    return out


def _table(r: Resolver, lid: str, res: dict[str, Any]) -> TableSpec:
    props = r.resolve(res.get("Properties") or {})
    ttl = props.get("TimeToLiveSpecification") or {}
    enabled = str(ttl.get("Enabled", False)).lower() == "true"
    return TableSpec(
        logical_id=lid,
        name=r.refs[lid],
        key_schema=props["KeySchema"],
        attribute_definitions=props["AttributeDefinitions"],
        global_secondary_indexes=props.get("GlobalSecondaryIndexes") or [],
        ttl_attribute=ttl.get("AttributeName") if enabled else None,
        billing_mode=props.get("BillingMode", "PROVISIONED"),
        stream_view_type=(props.get("StreamSpecification") or {}).get("StreamViewType"),
    )


def _queue(r: Resolver, lid: str, res: dict[str, Any]) -> QueueSpec:
    raw = res.get("Properties") or {}
    props = r.resolve(raw)
    redrive = props.get("RedrivePolicy") or {}
    if isinstance(redrive, str):  # CloudFormation also accepts the policy as a JSON string
        redrive = json.loads(redrive)
    target = None
    if redrive:
        arn = redrive["deadLetterTargetArn"]
        target = next(k for (k, a), v in r.attrs.items() if a == "Arn" and v == arn)
    retention = props.get("MessageRetentionPeriod")
    return QueueSpec(
        logical_id=lid,
        name=r.attrs[(lid, "QueueName")],
        url=r.refs[lid],
        arn=r.attrs[(lid, "Arn")],
        visibility_timeout_s=int(props.get("VisibilityTimeout", 30)),
        retention_s=int(retention) if retention is not None else None,
        redrive_target=target,
        max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
        fifo=str(props.get("FifoQueue", False)).lower() == "true",
    )


def _function(
    r: Resolver,
    lid: str,
    res: dict[str, Any],
    globals_fn: dict[str, Any],
    root: Path,
    arn_to_queue: dict[str, str],
    websocket_routes: list[str],
) -> FunctionSpec:
    raw_props = res.get("Properties") or {}
    props = r.resolve({k: v for k, v in raw_props.items() if k != "Events"})
    env = dict((globals_fn.get("Environment") or {}).get("Variables") or {})
    env.update((props.get("Environment") or {}).get("Variables") or {})
    routes: list[RouteSpec] = []
    sources: list[SqsSourceSpec] = []
    streams: list[StreamSourceSpec] = []
    schedules: list[ScheduleSpec] = []
    for event in (raw_props.get("Events") or {}).values():
        eprops = r.resolve(event.get("Properties") or {})
        if event.get("Type") == "HttpApi":
            routes.append(RouteSpec(str(eprops.get("Method", "ANY")).upper(), eprops["Path"]))
        elif event.get("Type") == "SQS":
            sources.append(
                SqsSourceSpec(
                    queue_logical_id=arn_to_queue[eprops["Queue"]],
                    batch_size=int(eprops.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (eprops.get("FunctionResponseTypes") or []),
                    enabled=str(eprops.get("Enabled", True)).lower() == "true",
                )
            )
        elif event.get("Type") == "DynamoDB":
            streams.append(_stream_source(eprops, arn_to_queue))
        elif event.get("Type") in ("Schedule", "ScheduleV2"):
            expression = str(eprops.get("Schedule") or eprops.get("ScheduleExpression"))
            enabled = eprops.get("Enabled", eprops.get("State", True) != "DISABLED")
            try:
                schedules.append(ScheduleSpec(parse_rate(expression),
                                              str(enabled).lower() == "true"))
            except (ValueError, KeyError):
                log.warning("%s: schedule %r is not emulated locally (rate() only)", lid,
                            expression)
    code_uri = props.get("CodeUri", globals_fn.get("CodeUri", "."))
    return FunctionSpec(
        logical_id=lid,
        name=r.refs[lid],
        code_dir=(root / str(code_uri)).resolve(),
        handler=str(props.get("Handler", globals_fn.get("Handler", "app.lambda_handler"))),
        environment={k: _env_str(v) for k, v in env.items()},
        timeout_s=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
        memory_mb=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
        routes=routes,
        sqs_sources=sources,
        stream_sources=streams,
        websocket_routes=websocket_routes,
        schedules=schedules,
        reserved_concurrency=_optional_int(props.get("ReservedConcurrentExecutions")),
    )


def _stream_source(eprops: dict[str, Any], arn_to_table: dict[str, str]) -> StreamSourceSpec:
    names: list[str] = []
    for flt in (eprops.get("FilterCriteria") or {}).get("Filters") or []:
        names += json.loads(flt["Pattern"]).get("eventName") or []
    return StreamSourceSpec(
        table_logical_id=arn_to_table[eprops["Stream"]],
        batch_size=int(eprops.get("BatchSize", 100)),
        report_batch_item_failures="ReportBatchItemFailures"
        in (eprops.get("FunctionResponseTypes") or []),
        max_retries=int(eprops.get("MaximumRetryAttempts", -1)),
        event_names=tuple(names),
    )


def _websocket_routes(r: Resolver, resources: dict[str, Any]) -> dict[str, list[str]]:
    """``{function logical id: [route keys]}`` of the WebSocket API's routes: Route →
    ``integrations/{Integration}`` → the function in its IntegrationUri."""
    out: dict[str, list[str]] = {}
    for res in resources.values():
        if res.get("Type") != "AWS::ApiGatewayV2::Route":
            continue
        props = res.get("Properties") or {}
        target = (props.get("Target") or {}).get("Fn::Sub", "")
        integration = target.removeprefix("integrations/${").removesuffix("}")
        uri = ((resources.get(integration) or {}).get("Properties") or {}).get("IntegrationUri")
        sub = uri.get("Fn::Sub", "") if isinstance(uri, dict) else ""
        function = sub.split("functions/${", 1)[-1].split(".Arn}", 1)[0] if sub else ""
        if function in resources:
            out.setdefault(function, []).append(str(props["RouteKey"]))
    return out


def _optional_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _state_machine(r: Resolver, lid: str, res: dict[str, Any], root: Path) -> StateMachineSpec:
    """The definition file with ``${Name}`` substitutions applied, as SAM does."""
    props = r.resolve(res.get("Properties") or {})
    text = (root / str(props["DefinitionUri"])).read_text(encoding="utf-8")
    for key, value in (props.get("DefinitionSubstitutions") or {}).items():
        text = text.replace("${" + key + "}", str(value))
    return StateMachineSpec(logical_id=lid, name=r.attrs[(lid, "Name")], arn=r.refs[lid],
                            definition=text)


def _env_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cors(
    r: Resolver, doc: dict[str, Any], apis: list[tuple[str, dict[str, Any]]]
) -> CorsSpec | None:
    """SAM's CorsConfiguration (API, then Globals), else the OpenAPI body's
    ``x-amazon-apigateway-cors`` (lower camel case keys)."""
    conf: Any = None
    for _, res in apis:
        props = res.get("Properties") or {}
        conf = props.get("CorsConfiguration", conf)
        body_cors = (props.get("DefinitionBody") or {}).get("x-amazon-apigateway-cors")
        if conf is None and body_cors is not None:
            conf = {k[0].upper() + k[1:]: v for k, v in body_cors.items()}
    if conf is None:
        conf = ((doc.get("Globals") or {}).get("HttpApi") or {}).get("CorsConfiguration")
    conf = r.resolve(conf)
    if not conf:
        return None
    if conf is True:  # SAM: CorsConfiguration: true allows everything
        conf = {"AllowOrigins": ["*"], "AllowMethods": ["*"], "AllowHeaders": ["*"]}
    max_age = conf.get("MaxAge")
    return CorsSpec(
        allow_origins=list(conf.get("AllowOrigins") or []),
        allow_methods=[m.upper() for m in conf.get("AllowMethods") or []],
        allow_headers=[h.lower() for h in conf.get("AllowHeaders") or []],
        expose_headers=[h.lower() for h in conf.get("ExposeHeaders") or []],
        max_age_s=int(max_age) if max_age is not None else None,
        allow_credentials=str(conf.get("AllowCredentials", False)).lower() == "true",
    )
