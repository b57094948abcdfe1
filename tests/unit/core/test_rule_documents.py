"""Rule documents (docs/rules.md): every limit is refused with loc = the JSON path inside
the document and a message that says what is allowed; over the API the limits become
413 / 409 / 422 as docs/rules.md lists."""

from __future__ import annotations

import json

import pytest

from backtest_contract.rules import (
    INDICATORS,
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    RuleDocumentError,
    canonical_json,
    check_lengths,
    document_version,
    parse_rule_document,
    rule_json_schema,
)

BASE = {"name": "my_rule", "entry": {"gt": [{"price": "close"}, 1]}}
RUN = {"params": {}, "symbols": ["BTC_KRW"], "start_date": "2024-01-01",
       "end_date": "2024-06-30", "timeframe": "1d"}


def _errors(doc: dict) -> list[dict]:
    with pytest.raises(RuleDocumentError) as caught:
        parse_rule_document(doc)
    assert caught.value.errors, "a RuleDocumentError always lists its errors"
    return caught.value.errors


def _with(**changes) -> dict:
    return {**BASE, **changes}


def test_given_the_documented_example_when_parsed_then_valid_with_its_defaults():
    doc = parse_rule_document({
        "name": "rsi_dip", "description": "Buy oversold, sell on recovery",
        "params": {"rsi_len": {"type": "int", "default": 14, "min": 2, "max": 200},
                   "level": {"type": "float", "default": 30, "min": 0, "max": 100}},
        "entry": {"crosses_above": [{"ind": "rsi", "length": "$rsi_len"}, "$level"]},
        "exit": {"gt": [{"ind": "rsi", "length": "$rsi_len"}, 70]},
        "position": {"stop_loss": {"pct": 3}, "take_profit": {"rr": 2}}})
    assert doc.defaults() == {"rsi_len": 14, "level": 30}
    assert doc.exit is not None


def test_given_an_unknown_indicator_when_parsed_then_loc_at_ind_and_msg_lists_known_ones():
    (err,) = _errors(_with(entry={"all": [{"gt": [1, 2]}, {"gt": [{"ind": "moon"}, 1]}]}))
    assert err["loc"] == ["entry", "all", 1, "gt", 0, "ind"]
    assert "'moon'" in err["msg"]
    assert all(name in err["msg"] for name in INDICATORS)


def test_given_an_undeclared_param_when_parsed_then_loc_at_the_reference_naming_it():
    (err,) = _errors(_with(params={"n": {"type": "int", "default": 5}},
                           entry={"gt": [{"ind": "sma", "length": "$len"}, "$n"]}))
    assert err["loc"] == ["entry", "gt", 0, "length"]
    assert "$len" in err["msg"] and "$n" in err["msg"]
    assert err["type"] == "rule_undeclared_param"


def test_given_a_bool_param_used_as_operand_when_parsed_then_refused():
    (err,) = _errors(_with(params={"b": {"type": "bool", "default": True}},
                           entry={"lt": [1, "$b"]}))
    assert err["loc"] == ["entry", "lt", 1] and "bool" in err["msg"]


def test_given_nesting_deeper_than_the_limit_when_parsed_then_loc_at_the_first_too_deep_node():
    node: dict = {"gt": [1, 2]}
    for _ in range(MAX_DEPTH + 3):
        node = {"not": node}
    (err,) = _errors(_with(entry=node))
    assert err["type"] == "rule_too_deep"
    assert err["loc"] == ["entry"] + ["not"] * MAX_DEPTH
    assert str(MAX_DEPTH) in err["msg"]


def test_given_exactly_the_depth_limit_when_parsed_then_valid():
    node: dict = {"gt": [1, 2]}
    for _ in range(MAX_DEPTH - 2):  # the comparison is level 1, its operands level 2
        node = {"not": node}
    parse_rule_document(_with(entry=node))


def test_given_more_than_400_nodes_when_parsed_then_refused_naming_the_limit():
    many = {"any": [{"all": [{"gt": [1, 2]}] * 32}] * 5}  # 1 + 5 × (1 + 32 × 3) = 486
    (err,) = _errors(_with(entry=many))
    assert err["type"] == "rule_too_many_nodes" and "400" in err["msg"]


def test_given_400_nodes_when_parsed_then_valid():
    # 1 any + 4 × (1 all + 32 × 3) = 389 nodes, and 11 at the exit: not + all + 3 × 3
    entry = {"any": [{"all": [{"gt": [1, 2]}] * 32}] * 4}
    exit_ = {"not": {"all": [{"gt": [1, 2]}] * 3}}
    parse_rule_document(_with(entry=entry, exit=exit_))


@pytest.mark.parametrize(("operand", "loc_tail", "words"), [
    ({"ind": "sma", "length": 6000}, ["length"], ["between 1 and 5000", "sma", "6000"]),
    ({"ind": "sma", "length": 0}, ["length"], ["between 1 and 5000"]),
    ({"ind": "sma", "length": 5.5}, ["length"], ["integer"]),
    ({"price": "close", "shift": 5001}, ["shift"], ["between 0 and 5000"]),
    ({"ind": "bbands", "output": "mid"}, ["output"], ["middle, upper, lower"]),
    ({"ind": "sma", "length": 3, "foo": 1}, ["foo"], ["sma has no argument", "length"]),
    ({"price": "vwap"}, ["price"], ["close"]),
    ([1], [], ['"$name"', "price, ind"]),
    ({"pow": [1, 2]}, [], ["unknown operand", "'pow'"]),
    ("nope", [], ['"$name"']),
    (True, [], ["price, ind", "True"]),
])
def test_given_a_bad_operand_when_parsed_then_loc_is_its_path_and_msg_says_why(
        operand, loc_tail, words):
    errors = _errors(_with(entry={"any": [{"gt": [1, 2]}, {"lte": [2, operand]}]}))
    assert errors[0]["loc"] == ["entry", "any", 1, "lte", 1, *loc_tail], errors
    assert all(w in errors[0]["msg"] for w in words), errors[0]["msg"]


@pytest.mark.parametrize(("condition", "loc", "word"), [
    ({"foo": [1, 2]}, ["entry"], "unknown condition"),
    ({"all": []}, ["entry", "all"], "at least 1"),
    ({"any": [{"gt": [1, 2]}] * 33}, ["entry", "any"], "at most 32"),
    ({"held": {"gt": [1, 2]}, "bars": 0}, ["entry", "bars"], "between 1 and 5000"),
    ({"gt": [1]}, ["entry", "gt", 1], "required"),
    (1, ["entry"], "condition"),
])
def test_given_a_bad_condition_when_parsed_then_loc_is_its_path(condition, loc, word):
    errors = _errors(_with(entry=condition))
    assert errors[0]["loc"] == loc, errors
    assert word in errors[0]["msg"]


@pytest.mark.parametrize(("params", "loc"), [
    ({"a": {"type": "int", "default": 300, "max": 200}}, ["params", "a", "default"]),
    ({"a": {"type": "int", "default": 1.5}}, ["params", "a", "default"]),
    ({"a": {"type": "int", "default": 1, "min": 5, "max": 2}}, ["params", "a"]),
    ({"a": {"type": "bool", "default": True, "min": 0}}, ["params", "a"]),
    ({"a": {"type": "str", "default": 1}}, ["params", "a", "type"]),
    ({"9x": {"type": "int", "default": 1}}, ["params", "9x"]),
    ({f"p{i}": {"type": "int", "default": 1} for i in range(33)}, ["params"]),
])
def test_given_a_bad_param_declaration_when_parsed_then_loc_inside_params(params, loc):
    assert _errors(_with(params=params))[0]["loc"] == loc


@pytest.mark.parametrize(("change", "loc"), [
    ({"name": "Bad-Name"}, ["name"]),
    ({"name": "ab"}, ["name"]),
    ({"name": "volume_zone_breakout"}, ["name"]),
    ({"description": "x" * 501}, ["description"]),
    ({"colour": "red"}, ["colour"]),
])
def test_given_bad_top_level_fields_when_parsed_then_loc_names_the_field(change, loc):
    assert _errors(_with(**change))[0]["loc"] == loc


def test_given_a_missing_entry_when_parsed_then_loc_entry():
    assert _errors({"name": "my_rule"})[0]["loc"] == ["entry"]


def test_given_a_default_length_out_of_bounds_when_parsed_then_refused_naming_param_and_value():
    (err,) = _errors(_with(params={"n": {"type": "int", "default": 9000}},
                           entry={"gt": [{"ind": "ema", "length": "$n"}, 1]}))
    assert err["loc"] == ["entry", "gt", 0, "length"]
    assert "$n = 9000" in err["msg"] and "ema" in err["msg"]


def test_given_swept_values_when_checked_then_each_bad_value_is_named():
    doc = parse_rule_document(_with(params={"n": {"type": "int", "default": 5}},
                                    entry={"held": {"gt": [{"ind": "sma", "length": "$n"}, 1]},
                                           "bars": "$n"}))
    assert check_lengths(doc, {"n": 20}) == []
    errors = check_lengths(doc, {"n": 0})
    assert {tuple(e["loc"]) for e in errors} == {("entry", "held", "gt", 0, "length"),
                                                ("entry", "bars")}
    assert all("$n = 0" in e["msg"] for e in errors)


def test_given_key_order_and_spacing_when_versioned_then_the_canonical_hash():
    a = {"name": "my_rule", "entry": {"gt": [1, 2]}}
    b = json.loads('{ "entry" : {"gt":[1,2]}, "name":"my_rule" }')
    assert canonical_json(a) == '{"entry":{"gt":[1,2]},"name":"my_rule"}'
    assert document_version(a) == document_version(b)
    assert document_version(a) != document_version({**a, "description": "x"})


def test_given_text_that_is_not_json_when_parsed_then_one_error_at_the_root():
    with pytest.raises(RuleDocumentError) as caught:
        parse_rule_document("{not json")
    assert caught.value.errors[0]["loc"] == []


def test_given_the_schema_then_every_indicator_is_described():
    text = json.dumps(rule_json_schema())
    assert all(f'"{name}"' in text for name in INDICATORS)


# --- over the API: the status codes of docs/rules.md -------------------------------------

def test_given_a_builtin_name_when_put_then_409_naming_it(api, aws):
    reply = api.call("PUT", "/api/strategies/volume_zone_breakout",
                     {**BASE, "name": "volume_zone_breakout"})
    assert reply.status == 409, reply.body
    assert "volume_zone_breakout" in reply.body["detail"]


def test_given_an_inline_definition_over_64_kib_when_submitted_then_413(api, aws):
    big = {**BASE, "description": "", "params": {
        f"p{i}": {"type": "int", "default": 1} for i in range(3)},
        "entry": {"any": [{"gt": [{"price": "close"}, 1.0 + i / 7]} for i in range(32)]}}
    big["zzz_padding"] = "x" * MAX_DOCUMENT_BYTES
    reply = api.call("POST", "/api/backtests/run-async", {**RUN, "definition": big})
    assert reply.status == 413, reply.body


def test_given_an_inline_definition_with_an_unknown_key_when_submitted_then_422_at_its_path(
        api, aws):
    doc = _with(entry={"gt": [{"ind": "sma", "length": 3, "colour": 1}, 1]})
    reply = api.call("POST", "/api/backtests/run-async", {**RUN, "definition": doc})
    assert reply.status == 422, reply.body
    locs = [d["loc"] for d in reply.body["detail"]]
    assert ["body", "definition", "entry", "gt", 0, "colour"] in locs
