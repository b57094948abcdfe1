"""The published schemas describe ``position`` as the API accepts it, and a 422's ``loc`` is a
real JSON path of the body: a run's ``$param`` value at ``["body", "params", NAME]`` (a
sweep's at ``["body", "grid", NAME, INDEX]``), ``entry_priority`` errors without the
operand union's tags (docs/rules.md "Limits", docs/positions.md "Configuration")."""

from __future__ import annotations

import pytest

from backtest_contract.position import PositionSpec

RUN = {"symbols": ["BTC_KRW"], "start_date": "2024-01-01", "end_date": "2024-12-31",
       "timeframe": "1d"}
SHIFTED = {"name": "shifted", "params": {"n": {"type": "int", "default": 10, "min": 1,
                                                "max": 100000}},
           "entry": {"gt": [{"price": "close", "shift": "$n"}, 1]}}


def _detail(reply) -> list[dict]:
    assert reply.status == 422, reply.body
    return reply.body["detail"]


def _resolve(root: dict, schema: dict, defs_key: str) -> dict:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    name = ref.rsplit("/", 1)[-1]
    return root["components"]["schemas"][name] if defs_key == "components" else root[
        "$defs"][name]


def _object_branch(root: dict, schema: dict, defs_key: str) -> dict:
    schema = _resolve(root, schema, defs_key)
    for option in schema.get("anyOf", [schema]):
        option = _resolve(root, option, defs_key)
        if option.get("type") == "object":
            return option
    raise AssertionError(f"no object in {schema}")


def _assert_position_shape(root: dict, position: dict, defs_key: str) -> None:
    shape = _object_branch(root, position, defs_key)
    assert shape["additionalProperties"] is False, shape
    assert set(shape["properties"]) == set(PositionSpec.model_fields)
    assert not shape.get("required")  # every key optional: a partial override
    stop = _object_branch(root, shape["properties"]["stop_loss"], defs_key)
    assert stop["additionalProperties"] is False and "pct" in stop["properties"]
    nullable = shape["properties"]["stop_loss"]["anyOf"]
    assert {"type": "null"} in nullable  # null removes a document's stop loss
    sizing = shape["properties"]["sizing"]
    assert any(o.get("enum") == ["all_in", "equal_slots"] for o in sizing["anyOf"]), sizing
    assert "anyOf" in shape["properties"]["entry_priority"] or "oneOf" in shape[
        "properties"]["entry_priority"]


@pytest.mark.parametrize("model", ["BacktestRequest", "SweepRequest"])
def test_given_openapi_then_position_is_the_position_spec_shape(api, model):
    doc = api.call("GET", "/api/openapi.json").body
    body = doc["components"]["schemas"][model]
    _assert_position_shape(doc, body["properties"]["position"], "components")


def test_given_the_strategy_schema_then_position_is_the_position_spec_shape(api):
    schema = api.call("GET", "/api/strategies/schema").body
    _assert_position_shape(schema, schema["properties"]["position"], "$defs")


def test_given_the_published_schema_then_a_made_up_position_key_does_not_validate(api):
    import jsonschema  # a dev dependency (cfn-lint, aws-sam-translator): never skipped
    schema = api.call("GET", "/api/strategies/schema").body
    doc = {**SHIFTED, "position": {"stop_loss_pct": 0.02}}
    assert not jsonschema.Draft202012Validator(schema).is_valid(doc)
    good = {**SHIFTED, "position": {"stop_loss": {"pct": 2}, "sizing": "equal_slots",
                                    "max_open_positions": 3, "take_profit": None,
                                    "entry_priority": {"ind": "rsi", "length": 14}}}
    assert jsonschema.Draft202012Validator(schema).is_valid(good)


@pytest.mark.parametrize("path", ["/api/backtests/run", "/api/backtests/run-async"])
def test_given_a_run_param_that_breaks_a_length_then_422_at_the_param(api, path):
    body = {**RUN, "definition": SHIFTED, "params": {"n": 5001}}
    detail = _detail(api.call("POST", path, body))
    assert [d["loc"] for d in detail] == [["body", "params", "n"]]
    assert "shift" in detail[0]["msg"] and "5001" in detail[0]["msg"]
    assert "5000" in detail[0]["msg"], detail


def test_given_a_grid_value_that_breaks_a_length_then_422_at_the_grid_index(api):
    body = {**RUN, "definition": SHIFTED, "grid": {"n": [5, 5001]}}
    detail = _detail(api.call("POST", "/api/sweeps/run-async", body))
    assert [d["loc"] for d in detail] == [["body", "grid", "n", 1]]
    assert "n=5001" in detail[0]["msg"] and "shift" in detail[0]["msg"]


@pytest.mark.parametrize(("priority", "loc", "words"), [
    ({"ind": "nope"}, ["entry_priority", "ind"], ["unknown indicator 'nope'", "rsi"]),
    ("close", ["entry_priority"], ["operand", '{"price": "volume"}']),
    ({"price": "closing"}, ["entry_priority", "price"], ["close"]),
    ({"ind": "rsi", "length": 1}, ["entry_priority", "length"], ["length must be"]),
    ({"foo": 1}, ["entry_priority"], ["unknown operand"]),
])
def test_given_a_bad_entry_priority_then_422_at_its_json_path(api, priority, loc, words):
    body = {**RUN, "strategy": "volume_zone_breakout", "position": {"entry_priority": priority}}
    detail = _detail(api.call("POST", "/api/backtests/run-async", body))
    assert [d["loc"] for d in detail] == [["body", "position", *loc]], detail
    assert all(w in detail[0]["msg"] for w in words), detail
    assert not any(str(s).startswith("<") for d in detail for s in d["loc"])


def test_given_a_documents_bad_entry_priority_then_422_under_definition(api):
    doc = {**SHIFTED, "position": {"entry_priority": {"ind": "nope"}}}
    detail = _detail(api.call("POST", "/api/backtests/run-async", {**RUN, "definition": doc}))
    assert [d["loc"] for d in detail] == [
        ["body", "definition", "position", "entry_priority", "ind"]]
