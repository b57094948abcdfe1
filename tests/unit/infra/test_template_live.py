"""template.yaml: the WebSocket API, the push pipeline and the console (docs/live.md)."""

from __future__ import annotations

from typing import Any


def res(template: dict[str, Any], lid: str) -> dict[str, Any]:
    return template["Resources"][lid]["Properties"]


def test_given_the_websocket_api_then_connect_and_disconnect_reach_their_functions(template):
    routes = {p["RouteKey"]: p for r in template["Resources"].values()
              if r["Type"] == "AWS::ApiGatewayV2::Route" for p in [r["Properties"]]}
    assert set(routes) == {"$connect", "$disconnect"}
    for key, function in (("$connect", "WsConnectFunction"),
                          ("$disconnect", "WsDisconnectFunction")):
        integration = routes[key]["Target"]["Fn::Sub"].removeprefix("integrations/${")[:-1]
        assert f"${{{function}.Arn}}" in res(template, integration)["IntegrationUri"]["Fn::Sub"]
    # the token check is on exactly when the HTTP API's JWT authorizer is
    assert routes["$connect"]["AuthorizationType"] == {
        "Fn::If": ["HasJwtAuthorizer", "CUSTOM", "NONE"]}
    assert template["Resources"]["WebSocketAuthorizer"]["Condition"] == "HasJwtAuthorizer"
    assert res(template, "WebSocketAuthorizer")["IdentitySource"] == [
        "route.request.querystring.token"]


def test_given_the_push_function_then_both_streams_feed_it_with_batch_item_failures(template):
    events = res(template, "WsPushFunction")["Events"]
    streams = {e["Properties"]["Stream"]["Fn::GetAtt"][0]: e["Properties"] for e in events.values()}
    assert set(streams) == {"TasksTable", "ConnectionsTable"}
    for props in streams.values():
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["StartingPosition"] == "LATEST"
    assert streams["ConnectionsTable"]["FilterCriteria"]["Filters"] == [
        {"Pattern": '{"eventName": ["INSERT"]}'}]
    assert res(template, "TasksTable")["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    grants = [s for s in res(template, "WsPushFunction")["Policies"][0]["Statement"]
              if s["Action"] == "execute-api:ManageConnections"]
    assert "/@connections/*" in grants[0]["Resource"]["Fn::Sub"]


def test_given_the_connections_table_then_ttl_and_a_task_index(template):
    props = res(template, "ConnectionsTable")
    assert props["KeySchema"] == [{"AttributeName": "connection_id", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    (index,) = props["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "task_id-index"
    assert index["KeySchema"] == [{"AttributeName": "task_id", "KeyType": "HASH"}]


def test_given_the_outputs_then_the_wss_and_console_urls_are_there(template):
    outputs = template["Outputs"]
    assert outputs["WebSocketUrl"]["Value"]["Fn::Sub"].startswith("wss://${WebSocketApi}")
    assert outputs["ConsoleUrl"]["Value"]["Fn::Sub"] == (
        "https://${ConsoleDistribution.DomainName}")


def test_given_the_console_then_only_its_distribution_reads_only_console_objects(template):
    origin = res(template, "ConsoleDistribution")["DistributionConfig"]["Origins"][0]
    assert origin["OriginPath"] == "/console"
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [
        "ConsoleOriginAccessControl", "Id"]}
    statements = res(template, "DataBucketPolicy")["PolicyDocument"]["Statement"]
    (grant,) = [s for s in statements if isinstance(s["Principal"], dict)
                and s["Principal"].get("Service") == "cloudfront.amazonaws.com"]
    assert grant["Action"] == "s3:GetObject"
    assert grant["Resource"] == {"Fn::Sub": "${DataBucket.Arn}/console/*"}
    assert "distribution/${ConsoleDistribution}" in (
        grant["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"])


def test_given_the_live_pipeline_then_its_errors_and_lag_raise_alarms(template):
    alarms = {lid: r["Properties"] for lid, r in template["Resources"].items()
              if r["Type"] == "AWS::CloudWatch::Alarm"}
    watched = {(a["MetricName"], a["Dimensions"][0]["Value"].get("Ref"))
               for a in alarms.values()}
    assert {("Errors", "WsPushFunction"), ("IteratorAge", "WsPushFunction")} <= watched
