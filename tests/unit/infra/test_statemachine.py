"""Sanity of the fan-out state machine definition (statemachines/*.asl.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.local.cfn import load_template

ROOT = Path(__file__).resolve().parents[3]
WAIT_FOR_TOKEN = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


@pytest.fixture(scope="module")
def machine() -> tuple[dict[str, Any], dict[str, Any]]:
    template = load_template(ROOT / "template.yaml")
    (props,) = [r["Properties"] for r in template["Resources"].values()
                if r["Type"] == "AWS::Serverless::StateMachine"]
    return props, json.loads((ROOT / props["DefinitionUri"]).read_text())


def _states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state, nested Map processors included, by name."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in definition["States"].items():
        found[name] = state
        if "ItemProcessor" in state:
            found.update(_states(state["ItemProcessor"]))
    return found


def _check_transitions(definition: dict[str, Any]) -> None:
    names = set(definition["States"])
    assert definition["StartAt"] in names
    for state in definition["States"].values():
        targets = [state.get("Next"), *(c["Next"] for c in state.get("Catch", []))]
        assert all(t in names for t in targets if t), f"dangling transition in {state}"
        assert state.get("End") or state.get("Next") or state["Type"] in ("Succeed", "Fail")
        if "ItemProcessor" in state:
            _check_transitions(state["ItemProcessor"])


def test_given_the_definition_then_every_transition_lands_on_a_state(machine):
    _check_transitions(machine[1])


def test_given_the_definition_then_the_map_is_distributed_over_shard_items(machine):
    shards = machine[1]["States"]["Shards"]
    assert shards["Type"] == "Map" and shards["ItemsPath"] == "$.shards"
    assert shards["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert shards["ResultPath"] is None  # outputs stay out of the 256 KB state payload


def test_given_the_shard_task_then_it_waits_on_a_token_with_heartbeat_retry_and_catch(machine):
    run = _states(machine[1])["RunShard"]
    assert run["Resource"] == WAIT_FOR_TOKEN and run["HeartbeatSeconds"] > 0
    body = run["Parameters"]["MessageBody"]
    assert body["kind"] == "shard" and body["token.$"] == "$$.Task.Token"
    assert "ShardFailed" in run["Retry"][0]["ErrorEquals"]  # usecases/fanout.SHARD_ERROR
    assert run["Catch"][0]["ErrorEquals"] == ["States.ALL"]


def test_given_the_aggregation_then_it_is_reached_through_a_token_message(machine):
    aggregate = machine[1]["States"]["Aggregate"]
    assert aggregate["Resource"] == WAIT_FOR_TOKEN and aggregate["End"] is True
    assert aggregate["Parameters"]["MessageBody"]["kind"] == "aggregate"


def test_given_substitutions_then_each_placeholder_is_declared_in_the_template(machine):
    props, _ = machine
    text = (ROOT / props["DefinitionUri"]).read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(props["DefinitionSubstitutions"])


def test_given_the_worker_error_name_then_it_matches_the_retry():
    from backtest_core.usecases.fanout import SHARD_ERROR

    assert SHARD_ERROR == "ShardFailed"
