"""Saved rule documents through the real handlers: save, list, read, delete, owners, limits,
and runs by name (the task stores the resolved document)."""

from __future__ import annotations

import json

import pytest

from backtest_contract.rules import document_version
from backtest_core.strategy_store import MAX_PER_OWNER

DOC = {"name": "rsi_dip", "description": "Buy oversold, sell on recovery",
       "params": {"rsi_len": {"type": "int", "default": 14, "min": 2, "max": 200},
                  "level": {"type": "float", "default": 30, "min": 0, "max": 100}},
       "entry": {"crosses_above": [{"ind": "rsi", "length": "$rsi_len"}, "$level"]},
       "exit": {"gt": [{"ind": "rsi", "length": "$rsi_len"}, 70]}}
RUN = {"params": {}, "symbols": ["BTC_KRW"], "start_date": "2024-01-01",
       "end_date": "2024-06-30", "timeframe": "1d"}


def _stored_request(aws, task_id: str) -> dict:
    item = aws.client("dynamodb").get_item(TableName=aws.env["TASKS_TABLE"],
                                           Key={"task_id": {"S": task_id}})["Item"]
    return json.loads(item["request"]["S"])


def test_given_a_document_when_put_then_listed_with_its_version_and_readable(api, aws):
    reply = api.call("PUT", "/api/strategies/rsi_dip", DOC)
    assert reply.status == 200, reply.body
    assert reply.body["name"] == "rsi_dip" and reply.body["version"] == document_version(DOC)
    assert len(reply.body["version"]) == 12
    listed = api.call("GET", "/api/strategies").body
    kinds = {d["name"]: d["kind"] for d in listed["details"]}
    assert kinds == {"volume_long_candle": "builtin", "volume_zone_breakout": "builtin",
                     "rsi_dip": "rules"}
    entry = next(d for d in listed["details"] if d["name"] == "rsi_dip")
    assert entry["defaults"] == {"rsi_len": 14, "level": 30.0}
    assert entry["params_schema"]["properties"]["rsi_len"]["maximum"] == 200
    assert listed["count"] == 3 and "rsi_dip" in listed["strategies"]
    assert api.call("GET", "/api/strategies/rsi_dip").body == DOC


def test_given_another_owner_when_reading_then_404_and_same_name_allowed(api, aws):
    assert api.call("PUT", "/api/strategies/rsi_dip", DOC, token_sub="alice").status == 200
    assert api.call("GET", "/api/strategies/rsi_dip", token_sub="bob").status == 404
    assert api.call("DELETE", "/api/strategies/rsi_dip", token_sub="bob").status == 404
    other = {**DOC, "description": "bob's"}
    assert api.call("PUT", "/api/strategies/rsi_dip", other, token_sub="bob").status == 200
    assert api.call("GET", "/api/strategies/rsi_dip", token_sub="alice").body == DOC
    names = api.call("GET", "/api/strategies", token_sub="carol").body["strategies"]
    assert "rsi_dip" not in names


def test_given_a_saved_strategy_when_deleted_then_204_and_gone(api, aws):
    api.call("PUT", "/api/strategies/rsi_dip", DOC)
    reply = api.call("DELETE", "/api/strategies/rsi_dip")
    assert reply.status == 204
    assert api.call("GET", "/api/strategies/rsi_dip").status == 404
    assert api.call("DELETE", "/api/strategies/rsi_dip").status == 404


@pytest.mark.parametrize("name", ["volume_zone_breakout", "volume_long_candle"])
def test_given_a_builtin_name_when_put_then_409(api, aws, name):
    reply = api.call("PUT", f"/api/strategies/{name}", {**DOC, "name": name})
    assert reply.status == 409, reply.body
    assert name in reply.body["detail"]


def test_given_the_101st_strategy_when_put_then_409(api, aws):
    for i in range(MAX_PER_OWNER):
        name = f"rule_{i:03d}"
        assert api.call("PUT", f"/api/strategies/{name}", {**DOC, "name": name}).status == 200
    reply = api.call("PUT", "/api/strategies/rule_extra", {**DOC, "name": "rule_extra"})
    assert reply.status == 409 and "100" in reply.body["detail"]
    # replacing an existing one is still allowed
    again = api.call("PUT", "/api/strategies/rule_000", {**DOC, "name": "rule_000",
                                                          "description": "v2"})
    assert again.status == 200


def test_given_a_document_over_64_kib_when_put_then_413(api, aws):
    big = {**DOC, "description": "x" * 70_000}
    reply = api.call("PUT", "/api/strategies/rsi_dip", big)
    assert reply.status == 413 and "bytes" in reply.body["detail"]


def test_given_a_mismatched_name_when_put_then_422_at_name(api, aws):
    reply = api.call("PUT", "/api/strategies/other_name", DOC)
    assert reply.status == 422
    assert ["body", "name"] in [d["loc"] for d in reply.body["detail"]]


def test_given_an_unknown_indicator_when_put_then_422_at_its_path_listing_known_ones(api, aws):
    doc = {**DOC, "entry": {"gt": [{"ind": "moon", "length": 3}, 1]}}
    reply = api.call("PUT", "/api/strategies/rsi_dip", doc)
    assert reply.status == 422, reply.body
    item = reply.body["detail"][0]
    assert item["loc"][:4] == ["body", "entry", "gt", 0]
    assert "rsi" in item["msg"] and "sma" in item["msg"]


def test_given_a_saved_name_when_submitted_then_the_task_stores_the_document(api, aws):
    api.call("PUT", "/api/strategies/rsi_dip", DOC)
    reply = api.call("POST", "/api/backtests/run-async", {**RUN, "strategy": "rsi_dip"})
    assert reply.status == 200, reply.body
    stored = _stored_request(aws, reply.body["task_id"])
    assert stored["definition"] == DOC and stored.get("strategy") is None
    # a later edit or delete does not change the queued task
    api.call("DELETE", "/api/strategies/rsi_dip")
    assert _stored_request(aws, reply.body["task_id"])["definition"] == DOC
    history = api.call("GET", "/api/backtests/history", query="strategy=rsi_dip").body
    assert [i["task_id"] for i in history["items"]] == [reply.body["task_id"]]


def test_given_an_unknown_name_when_submitted_then_422_at_strategy(api, aws):
    reply = api.call("POST", "/api/backtests/run-async", {**RUN, "strategy": "not_saved"})
    assert reply.status == 422
    assert reply.body["detail"][0]["loc"] == ["body", "strategy"]


def test_given_both_strategy_and_definition_when_submitted_then_422(api, aws):
    body = {**RUN, "strategy": "volume_zone_breakout", "definition": DOC}
    reply = api.call("POST", "/api/backtests/run-async", body)
    assert reply.status == 422
    assert ["body", "strategy"] in [d["loc"] for d in reply.body["detail"]]


def test_given_an_inline_definition_with_a_bad_param_when_submitted_then_422_at_params(api, aws):
    body = {**RUN, "definition": DOC, "params": {"rsi_len": 1}}
    reply = api.call("POST", "/api/backtests/run-async", body)
    assert reply.status == 422, reply.body
    assert reply.body["detail"][0]["loc"] == ["body", "params", "rsi_len"]


def test_given_an_inline_definition_with_a_bad_node_when_submitted_then_loc_is_its_path(api, aws):
    doc = {**DOC, "entry": {"all": [{"gt": [1, 2]}, {"gt": [{"ind": "sma", "length": 0}, 1]}]}}
    reply = api.call("POST", "/api/backtests/run-async", {**RUN, "definition": doc})
    assert reply.status == 422, reply.body
    locs = [d["loc"] for d in reply.body["detail"]]
    assert any(loc[:7] == ["body", "definition", "entry", "all", 1, "gt", 0] for loc in locs), locs


def test_given_a_sweep_over_a_length_param_out_of_bounds_then_422_naming_key_and_value(api, aws):
    body = {**RUN, "definition": {**DOC, "params": {
        "rsi_len": {"type": "int", "default": 14}, "level": DOC["params"]["level"]}},
        "grid": {"rsi_len": [5, 6000]}}
    reply = api.call("POST", "/api/sweeps/run-async", body)
    assert reply.status == 422, reply.body
    item = reply.body["detail"][0]
    assert item["loc"] == ["body", "grid", "rsi_len", 1] and "6000" in item["msg"]


def test_given_the_schema_route_then_a_2020_12_json_schema(api, aws):
    reply = api.call("GET", "/api/strategies/schema")
    assert reply.status == 200
    assert reply.body["$schema"].endswith("2020-12/schema")
    assert "entry" in reply.body["properties"]


@pytest.mark.parametrize(("grid", "loc", "word"), [
    ({"rsi_len": [14, 300]}, ["body", "grid", "rsi_len", 1], "200"),  # above the param's max
    ({"level": [30, "high"]}, ["body", "grid", "level", 1], "number"),
    ({"bogus": [1]}, ["body", "grid", "bogus", 0], "bogus"),
])
def test_given_a_saved_name_and_a_bad_grid_value_when_swept_then_422_naming_key_and_index(
        api, aws, grid, loc, word):
    api.call("PUT", "/api/strategies/rsi_dip", DOC)
    body = {**RUN, "strategy": "rsi_dip", "grid": grid}
    reply = api.call("POST", "/api/sweeps/run-async", body)
    assert reply.status == 422, reply.body
    item = reply.body["detail"][0]
    assert item["loc"] == loc and word in item["msg"], item


@pytest.mark.parametrize(("position", "loc"), [
    ({"stop_loss_pct": 2}, ["body", "position", "stop_loss_pct"]),
    ({"take_profit": {"rr": 2}}, ["body", "position", "take_profit", "rr"]),
])
def test_given_a_document_with_an_invalid_position_when_put_then_422_at_it_and_not_saved(
        api, aws, position, loc):
    reply = api.call("PUT", "/api/strategies/rsi_dip", {**DOC, "position": position})
    assert reply.status == 422, reply.body
    assert loc in [d["loc"] for d in reply.body["detail"]]
    assert api.call("GET", "/api/strategies/rsi_dip").status == 404


def test_given_a_document_with_a_valid_position_when_put_then_saved(api, aws):
    doc = {**DOC, "position": {"stop_loss": {"pct": 3}, "take_profit": {"rr": 2}}}
    assert api.call("PUT", "/api/strategies/rsi_dip", doc).status == 200
    assert api.call("GET", "/api/strategies/rsi_dip").body == doc
