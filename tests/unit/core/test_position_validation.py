"""A bad ``position`` (or ``position.*`` grid value) is a 422 naming the field before
anything is queued: run, run-async and sweeps (docs/positions.md, "Configuration")."""

from __future__ import annotations

import pytest

from backtest_core.models import QueueMessage, SweepRequest

RUN = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"], "start_date": "2024-01-01",
       "end_date": "2024-03-31", "timeframe": "1d"}
SWEEP = {**RUN, "grid": {"volume_window": [10, 20]}}
RULE = {"name": "dip", "entry": {"lt": [{"price": "close"}, 100]},
        "position": {"stop_loss": {"pct": 3}}}


def queued(aws) -> list[QueueMessage]:
    resp = aws.client("sqs").receive_message(QueueUrl=aws.env["JOBS_QUEUE_URL"],
                                             MaxNumberOfMessages=10)
    return [QueueMessage.model_validate_json(m["Body"]) for m in resp.get("Messages", [])]


def locs(reply) -> list[list]:
    assert reply.status == 422, reply.body
    return [item["loc"] for item in reply.body["detail"]]


BAD = [
    ({"stop_loss_pct": 0.02}, ["body", "position", "stop_loss_pct"]),
    ({"stop_loss": {"pct": -1}}, ["body", "position", "stop_loss", "pct"]),
    ({"stop_loss": {"pct": 100}}, ["body", "position", "stop_loss", "pct"]),
    ({"take_profit": {"rr": 2}}, ["body", "position", "take_profit", "rr"]),
    ({"sizing": {"mode": "fraction"}}, ["body", "position", "sizing", "value"]),
    ({"sizing": {"mode": "fraction", "value": 1.5}}, ["body", "position", "sizing", "value"]),
    ({"max_open_positions": 51}, ["body", "position", "max_open_positions"]),
    ({"max_open_positions": 0}, ["body", "position", "max_open_positions"]),
    ({"initial_capital": 0}, ["body", "position", "initial_capital"]),
    ({"trailing_stop": {"pct": 2, "activation_pct": -1}},
     ["body", "position", "trailing_stop", "activation_pct"]),
    ({"execution": "tomorrow"}, ["body", "position", "execution"]),
    ({"time_exit_bars": 10_000_001}, ["body", "position", "time_exit_bars"]),
    ({"time_exit_bars": 2**63 - 1}, ["body", "position", "time_exit_bars"]),  # was a hang
    ({"time_exit_bars": 10**30}, ["body", "position", "time_exit_bars"]),  # was a 500
]


@pytest.mark.parametrize(("position", "loc"), BAD)
@pytest.mark.parametrize("path", ["/api/backtests/run-async", "/api/sweeps/run-async"])
def test_given_a_bad_position_when_submitted_then_422_at_its_field_and_nothing_queued(
        api, aws, path, position, loc):
    body = {**(SWEEP if "sweeps" in path else RUN), "position": position}
    assert loc in locs(api.call("POST", path, body))
    assert queued(aws) == []


@pytest.mark.parametrize(("position", "loc"), BAD[:3])
def test_given_a_bad_position_when_run_synchronously_then_422_at_its_field(api, position, loc):
    assert loc in locs(api.call("POST", "/api/backtests/run", {**RUN, "position": position}))


def test_given_a_good_position_when_submitted_then_queued_with_it(api, aws, svc):
    position = {"stop_loss": {"pct": 2}, "take_profit": {"rr": 2}, "max_open_positions": 3,
                "sizing": "equal_slots"}
    reply = api.call("POST", "/api/backtests/run-async", {**RUN, "position": position})
    assert reply.status == 200, reply.body
    assert [m.task_id for m in queued(aws)] == [reply.body["task_id"]]
    assert svc.tasks.get(reply.body["task_id"], svc.clock()).request.position == position


def test_given_a_rule_documents_position_when_the_request_breaks_it_then_422_under_position(api):
    body = {**RUN, "strategy": None, "definition": RULE,
            "position": {"take_profit": {"rr": 2}, "stop_loss": None}}
    assert ["body", "position", "take_profit", "rr"] in locs(
        api.call("POST", "/api/backtests/run-async", body))


def test_given_rr_with_the_documents_stop_when_submitted_then_accepted(api):
    body = {**RUN, "strategy": None, "definition": RULE, "position": {"take_profit": {"rr": 2}}}
    reply = api.call("POST", "/api/backtests/run-async", body)
    assert reply.status == 200, reply.body


def test_given_position_grid_values_when_one_is_bad_then_422_at_its_index(api, aws):
    body = {**RUN, "grid": {"position.stop_loss.pct": [1, 2, -3, 150]}}
    reply = api.call("POST", "/api/sweeps/run-async", body)
    assert locs(reply) == [["body", "grid", "position.stop_loss.pct", 2],
                           ["body", "grid", "position.stop_loss.pct", 3]]
    assert "position.stop_loss.pct=-3" in reply.body["detail"][0]["msg"]
    assert queued(aws) == []
    huge = {**RUN, "grid": {"position.time_exit_bars": [5, 2**63 - 1]}}  # was a hung shard
    assert locs(api.call("POST", "/api/sweeps/run-async", huge)) == [
        ["body", "grid", "position.time_exit_bars", 1]]


@pytest.mark.parametrize("key", ["position.stop_loss_pct", "position.stop_loss.percent",
                                 "position.time_exit_bars.x"])
def test_given_a_position_grid_key_that_does_not_exist_when_submitted_then_422_at_the_key(
        api, key):
    reply = api.call("POST", "/api/sweeps/run-async", {**RUN, "grid": {key: [1, 2]}})
    assert locs(reply) == [["body", "grid", key]]


def test_given_position_grid_values_needing_the_base_position_when_valid_then_accepted(api, svc):
    body = {**RUN, "position": {"stop_loss": {"pct": 2}},
            "grid": {"position.take_profit.rr": [1, 2], "position.time_exit_bars": [5, 10],
                     "volume_window": [10]}}
    reply = api.call("POST", "/api/sweeps/run-async", body)
    assert reply.status == 200, reply.body
    record = svc.tasks.get(reply.body["task_id"], svc.clock())
    assert isinstance(record.request, SweepRequest)
    assert record.request.grid["position.take_profit.rr"] == [1, 2]
    bad = {**body, "position": None}  # rr without a stop: every value is a 422
    assert locs(api.call("POST", "/api/sweeps/run-async", bad)) == [
        ["body", "grid", "position.take_profit.rr", 0],
        ["body", "grid", "position.take_profit.rr", 1]]
