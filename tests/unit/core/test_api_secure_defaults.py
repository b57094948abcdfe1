"""Secure defaults at the HTTP edge (docs/api.md): date bounds, booleans are not numbers, bounded quoting of
input in 422 bodies, 401 for unusable token subjects, per-owner idempotency namespace."""

from __future__ import annotations

import base64
import json

import pytest

from tests.inprocess_api import Reply

BODY = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"],
        "start_date": "2024-01-01", "end_date": "2024-03-31"}
RUN_ROUTES = ["/api/backtests/run-async", "/api/backtests/run"]


def _locs(reply: Reply) -> list[list]:
    assert reply.status == 422, reply.body
    return [item["loc"] for item in reply.body["detail"]]


# Loops rather than parametrize: each case needs the moto stack, whose setup dominates.
@pytest.mark.parametrize("path", RUN_ROUTES)
def test_given_a_date_outside_1970_to_2100_or_not_a_day_string_when_submitted_then_422(
    api, path
):
    cases = [("end_date", "9999-12-31"), ("end_date", "2101-01-01"),
             ("start_date", "1969-12-31"), ("start_date", "0001-01-01"), ("start_date", 0),
             ("end_date", 1704067200), ("end_date", "2024-1-31")]
    for field, value in cases:
        body = {**BODY, field: value}
        if field == "start_date":
            body["end_date"] = "2024-01-31"
        assert ["body", field] in _locs(api.call("POST", path, body)), (field, value)


def test_given_the_last_representable_day_when_submitted_then_accepted(api):
    reply = api.call("POST", "/api/backtests/run-async",
                     {**BODY, "start_date": "1970-01-01", "end_date": "2100-12-31"})
    assert reply.status == 200, reply.body


@pytest.mark.parametrize("path", RUN_ROUTES)
def test_given_a_boolean_for_a_number_or_a_number_for_a_boolean_then_422(api, path):
    cases = [({"fee_bps": True}, ["body", "fee_bps"]),
             ({"slippage_bps": False}, ["body", "slippage_bps"]),
             ({"fee_bps": "yes"}, ["body", "fee_bps"]),
             ({"params": {"include_wicks": "yes"}}, ["body", "params", "include_wicks"]),
             ({"params": {"include_wicks": "true"}}, ["body", "params", "include_wicks"]),
             ({"params": {"volume_window": True}}, ["body", "params", "volume_window"]),
             ({"params": {"top_percentile": True}}, ["body", "params", "top_percentile"]),
             ({"params": {"include_wicks": 1}}, ["body", "params", "include_wicks"])]
    for change, loc in cases:
        assert loc in _locs(api.call("POST", path, {**BODY, **change})), change


@pytest.mark.parametrize("path", RUN_ROUTES)
def test_given_a_5000_digit_number_then_422_without_python_internals(api, path):
    digits = "9" * 5000
    for extra in (f', "fee_bps": {digits}}}', f', "params": {{"volume_window": {digits}}}}}'):
        reply = api.call("POST", path, (json.dumps(BODY)[:-1] + extra).encode())
        assert reply.status == 422
        text = json.dumps(reply.body)
        assert "sys." not in text and "set_int_max_str_digits" not in text
        assert reply.body["detail"][0]["msg"] == (
            "Request body is not valid JSON: a number has too many digits")


@pytest.mark.parametrize("path", RUN_ROUTES)
def test_given_huge_input_then_the_422_body_quotes_at_most_200_characters(api, path):
    cases = [{"symbols": ["X" * 10_000_000]}, {"strategy": "s" * 1_000_000},
             {"params": {"k" * 1_000_000: 1}}, {"timeframe": "t" * 1_000_000},
             {"surprise" * 100_000: 1}]
    for change in cases:
        reply = api.call("POST", path, {**BODY, **change})
        assert reply.status == 422
        size = len(json.dumps(reply.body))
        assert size < 2000, (list(change), size)


def test_given_a_long_symbol_then_the_message_names_it_by_its_first_200_characters(api):
    reply = api.call("POST", "/api/backtests/run-async", {**BODY, "symbols": ["Y" * 5000]})
    msg = reply.body["detail"][0]["msg"]
    assert msg.startswith("invalid symbol '" + "Y" * 200 + "'... (5000 characters)")


def _token(claims: dict) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"Bearer {part({'alg': 'none'})}.{part(claims)}.sig"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/backtests/run-async"), ("GET", "/api/backtests/status/t1"),
     ("DELETE", "/api/backtests/tasks/t1"), ("GET", "/api/backtests/history"),
     ("GET", "/api/backtests/t1"), ("POST", "/api/backtests/run")],
)
def test_given_a_token_without_a_usable_sub_then_401_with_detail(api, method, path):
    body = BODY if method == "POST" else None
    unusable = [{}, {"sub": ""}, {"sub": "   "}, {"sub": "anonymous"}, {"sub": "s" * 257},
                {"sub": "s" * 3000}]
    for claims in unusable:
        reply = api.call(method, path, body, headers={"authorization": _token(claims)})
        assert reply.status == 401, (claims, reply.body)
        assert set(reply.body) == {"detail"} and "sub" in reply.body["detail"]


def test_given_a_256_character_sub_then_it_is_a_valid_owner(api):
    reply = api.call("POST", "/api/backtests/run-async", BODY, token_sub="s" * 256)
    assert reply.status == 200, reply.body


def test_given_owner_and_key_sharing_a_separator_then_idempotency_keys_do_not_collide(api):
    first = api.call("POST", "/api/backtests/run-async", BODY,
                     headers={"idempotency-key": "x#K"}, token_sub="carol")
    other_body = {**BODY, "end_date": "2024-02-29"}
    second = api.call("POST", "/api/backtests/run-async", other_body,
                      headers={"idempotency-key": "K"}, token_sub="carol#x")
    assert (first.status, second.status) == (200, 200), second.body
    assert first.body["task_id"] != second.body["task_id"]
    again = api.call("POST", "/api/backtests/run-async", BODY,
                     headers={"idempotency-key": "x#K"}, token_sub="carol")
    assert again.body["task_id"] == first.body["task_id"]


def test_given_a_numeric_string_fee_when_submitted_then_accepted_and_stored_as_a_number(api):
    reply = api.call("POST", "/api/backtests/run-async", {**BODY, "fee_bps": "5"})

    assert reply.status == 200, reply.body
    status = api.call("GET", f"/api/backtests/status/{reply.body['task_id']}")
    assert status.status == 200
