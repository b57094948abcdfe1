"""Schedules in the template model, and the local state file helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.local.local_state import _decode, _encode, _object_path
from infra.local.template_model import build_model, parse_rate

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Reaper:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/reaper
      ReservedConcurrentExecutions: 1
      Events:
        Tick: {Type: Schedule, Properties: {Schedule: rate(1 minute)}}
        Hourly: {Type: Schedule, Properties: {Schedule: rate(2 hours), Enabled: false}}
        Noon: {Type: Schedule, Properties: {Schedule: "cron(0 12 * * ? *)"}}
"""


@pytest.mark.parametrize(("expression", "seconds"), [
    ("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200),
    ("rate(1 day)", 86400)])
def test_given_a_rate_expression_then_its_seconds(expression: str, seconds: int) -> None:
    assert parse_rate(expression) == seconds


def test_given_a_cron_expression_then_a_clear_error() -> None:
    with pytest.raises(ValueError, match="only rate"):
        parse_rate("cron(0 12 * * ? *)")


def test_given_schedule_events_then_the_model_has_the_rates_with_enabled_flags(
    tmp_path: Path,
) -> None:  # a cron schedule is valid on AWS: skipped locally with a warning, not an error
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    (fn,) = build_model(tmp_path / "template.yaml", "http://127.0.0.1:1").functions

    assert [(s.rate_s, s.enabled) for s in fn.schedules] == [(60, True), (7200, False)]
    assert fn.reserved_concurrency == 1 and fn.routes == [] and fn.sqs_sources == []


def test_given_items_with_binary_values_when_encoded_then_json_safe_and_decoded_back() -> None:
    item = {"id": {"S": "x"}, "blob": {"B": b"\x00\xff"},
            "m": {"M": {"__b64__": {"S": "not binary"}, "l": {"L": [{"B": b"a"}]}}}}

    encoded = _encode(item)

    assert encoded["blob"] == {"B": {"__b64__": "AP8="}}
    assert _decode(encoded) == item


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a", "a/"])
def test_given_unsafe_object_keys_then_no_path(key: str, tmp_path: Path) -> None:
    assert _object_path(tmp_path, key) is None


def test_given_a_normal_key_then_a_path_under_the_root(tmp_path: Path) -> None:
    assert _object_path(tmp_path, "results/t/1.json") == tmp_path / "results" / "t" / "1.json"
