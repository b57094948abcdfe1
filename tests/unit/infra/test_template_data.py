"""template.yaml: the inventory route's function and the scheduled market data refresh."""

from __future__ import annotations

from tests.unit.infra.test_template import default, effective_layers, functions, statements

INGEST_RESOURCES = {
    "IngestLayer": "AWS::Serverless::LayerVersion",
    "IngestFunction": "AWS::Serverless::Function",
    "IngestLogGroup": "AWS::Logs::LogGroup",
    "IngestErrorsAlarm": "AWS::CloudWatch::Alarm",
}


def test_given_default_parameters_then_the_refresh_is_off_and_all_its_resources_conditional(
    template,
):
    assert default(template, "IngestSymbols") == "" and default(template, "IngestTimeframes") == ""
    has_ingest = template["Conditions"]["HasIngest"]["Fn::And"]
    assert {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": [",", {"Ref": "IngestSymbols"}]}, ""]}]} in (
        has_ingest)
    assert {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": [",", {"Ref": "IngestTimeframes"}]}, ""]}]} in (
        has_ingest)
    conditional = {lid: r["Type"] for lid, r in template["Resources"].items()
                   if r.get("Condition") == "HasIngest"}
    assert conditional == INGEST_RESOURCES


def test_given_the_ingest_function_then_a_schedule_drives_it_with_the_ingest_layer(template):
    fn = functions(template)["IngestFunction"]
    (event,) = fn["Properties"]["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == {"Ref": "IngestSchedule"}
    assert {"Ref": "IngestLayer"} in effective_layers(template, fn)
    assert fn["Properties"]["ReservedConcurrentExecutions"] == 1
    with_ingest_layer = {fid for fid, f in functions(template).items()
                         if {"Ref": "IngestLayer"} in effective_layers(template, f)}
    assert with_ingest_layer == {"IngestFunction"}


def test_given_the_ingest_alarm_then_it_watches_the_functions_errors(template):
    alarm = template["Resources"]["IngestErrorsAlarm"]["Properties"]
    assert alarm["MetricName"] == "Errors" and alarm["Namespace"] == "AWS/Lambda"
    assert alarm["Dimensions"][0]["Value"] == {"Ref": "IngestFunction"}
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_given_the_data_function_then_it_only_reads_and_lists_the_data_prefix(template):
    granted = statements(functions(template)["DataFunction"])
    actions = {a for s in granted for a in ([s["Action"]] if isinstance(s["Action"], str)
                                            else s["Action"])}
    assert actions == {"s3:GetObject", "s3:ListBucket"}
    listing = next(s for s in granted if s["Action"] == "s3:ListBucket")
    assert listing["Condition"]["StringLike"]["s3:prefix"] == "data/*"
