"""/api/openapi.json declares what the API answers (the statuses of docs/api.md's route
table with the {"detail"} schema, the strategy enum) and lists operations in a fixed tag
order (submit, status, cancel, results, ...: TAG_ORDER)."""

from __future__ import annotations

import pytest

from backtest_core.api.resolver import TAG_ORDER
from backtest_core.catalog import strategy_names

# (method, path) → the error statuses it can answer besides 422.
EXPECTED = {
    ("post", "/api/backtests/run-async"): {401, 409, 413, 500},
    ("get", "/api/backtests/status/{task_id}"): {401, 404, 500},
    ("delete", "/api/backtests/tasks/{task_id}"): {400, 401, 404, 500},
    ("get", "/api/backtests/{run_id}"): {401, 404, 500},
    ("get", "/api/backtests/{run_id}/download"): {401, 404, 500},
    ("get", "/api/backtests/history"): {401, 500},
    ("post", "/api/backtests/run"): {401, 413, 500},
    ("get", "/api/candles"): {401, 404, 500},
}


@pytest.fixture
def openapi(api) -> dict:
    reply = api.call("GET", "/api/openapi.json")
    assert reply.status == 200
    return reply.body


def _resolve(doc: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def test_given_a_route_then_each_error_status_is_declared_with_the_detail_schema(openapi):
    for (method, path), expected in EXPECTED.items():
        responses = openapi["paths"][path][method]["responses"]
        declared = {int(code) for code in responses if int(code) >= 400}
        assert expected | {422} <= declared, (method, path, declared)
        for code in declared:
            content = responses[str(code)]["content"]["application/json"]
            schema = _resolve(openapi, content["schema"])
            assert schema["required"] == ["detail"], (path, code, schema)
            detail = schema["properties"]["detail"]
            assert detail.get("type") == ("array" if code == 422 else "string"), (path, code)


def test_given_the_request_body_then_strategy_names_the_builtins_and_definition_is_a_document(
        openapi):
    body = openapi["components"]["schemas"]["BacktestRequest"]["properties"]
    name = next(s for s in body["strategy"]["anyOf"] if s.get("type") == "string")
    # a saved strategy's name is the owner's own, so the schema is a pattern, not an enum
    assert name["examples"] == strategy_names() and name["pattern"]
    definition = next(s for s in body["definition"]["anyOf"] if s.get("type") == "object")
    assert definition["type"] == "object"
    assert "position" in body
    assert body["symbols"]["items"]["pattern"]
    assert body["fee_bps"]["type"] == "number"


def test_given_the_document_then_operations_follow_the_spec_order_of_tags(openapi):
    tags = [op["tags"][0] for item in openapi["paths"].values() for op in item.values()]
    ranks = [TAG_ORDER.index(tag) for tag in tags]
    assert ranks == sorted(ranks), tags
    assert tags[0] == "submit" and tags[-1] == "health"
    assert [t["name"] for t in openapi["tags"]] == [t for t in TAG_ORDER if t in tags]
    assert list(openapi["paths"])[0] == "/api/backtests/run-async"


def test_given_an_unknown_method_on_a_known_path_then_405_with_allow(api):
    reply = api.call("PATCH", "/api/backtests/status/t1")
    assert (reply.status, reply.body) == (405, {"detail": "Method Not Allowed"})
    assert reply.headers["allow"] == "GET"
    reply = api.call("PUT", "/api/backtests/t1")
    assert reply.status == 405 and reply.headers["allow"] == "GET"


def test_given_a_static_path_that_a_template_also_matches_then_allow_lists_the_static_routes(
    api
):
    """As the OpenAPI path item lists them (``/api/backtests/{run_id}`` matches these too)."""
    for path, allow in [("/api/backtests/run", "POST"), ("/api/backtests/run-async", "POST"),
                        ("/api/backtests/history", "GET")]:
        reply = api.call("PUT", path)
        assert (reply.status, reply.headers["allow"]) == (405, allow), path


def test_given_the_result_route_then_every_metric_states_its_unit(openapi):
    ok = openapi["paths"]["/api/backtests/{run_id}"]["get"]["responses"]["200"]
    schemas = openapi["components"]["schemas"]
    assert _resolve(openapi, ok["content"]["application/json"]["schema"]) == \
        schemas["ResultDocument"]
    units = {
        "PortfolioMetrics": {"total_return_pct": "percent", "max_drawdown_pct": "percent",
                             "sharpe": "annualised", "win_rate": "fraction",
                             "final_equity": "currency"},
        "SymbolResult": {"avg_return": "percent, gross", "win_rate": "fraction",
                             "max_drawdown": "percentage points"},
        "Signal": {"return_pct": "fraction"},
        "Trade": {"return_pct": "percent, net", "pnl": "currency", "bars_held": "bars"},
        "PerformancePoint": {"timestamp": "intraday"},
    }
    for model, fields in units.items():
        properties = schemas[model]["properties"]
        for field, unit in fields.items():
            assert unit in properties[field]["description"], (model, field)
