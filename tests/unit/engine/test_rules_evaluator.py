"""The vectorised rule evaluator (docs/rules.md) against a per-row reference on generated
documents, its NaN / cross / held semantics, and one indicator computation per distinct
(indicator, args, source) shared across nodes and parameter sets."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_reference import Reference

from backtest_contract.rules import parse_rule_document
from backtest_engine.candles import Candles
from backtest_engine.indicators import IndicatorCache
from backtest_engine.strategies.rules import evaluate_rules

PRICES = ("open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4")


def _candles(closes: list[float]) -> Candles:
    close = np.asarray(closes, dtype=float)
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) + 1
    low = np.minimum(open_, close) - 1
    volume = np.arange(1, len(close) + 1, dtype=float) % 7 + 1
    ts = np.arange(len(close), dtype=np.int64) * 86_400_000_000_000
    return Candles(ts, open_, high, low, close, volume)


def _masks(doc: dict, closes, params=None, cache=None):
    parsed = parse_rule_document(doc)
    c = _candles(closes) if cache is None else cache.candles
    cache = IndicatorCache(c) if cache is None else cache
    return evaluate_rules(parsed, params or {}, c, cache), parsed, c


def _doc(entry, exit_=None, params=None) -> dict:
    doc = {"name": "gen_rule", "params": params or {}, "entry": entry}
    if exit_ is not None:
        doc["exit"] = exit_
    return doc


# --- the property test ---------------------------------------------------------------------

PARAMS = {"k": {"type": "int", "default": 3, "min": 2, "max": 6},
          "x": {"type": "float", "default": 100.0}}

leaf = st.one_of(
    st.integers(95, 105),
    st.sampled_from(["$x", "$k"]),
    st.builds(lambda f, k: {"price": f, "shift": k}, st.sampled_from(PRICES), st.integers(0, 3)),
    st.builds(lambda name, n, k: {"ind": name, "length": n, "shift": k},
              st.sampled_from(["sma", "ema", "wma", "highest", "lowest", "rsi"]),
              st.sampled_from([2, 3, 5, "$k"]), st.integers(0, 2)),
    st.builds(lambda out: {"ind": "bbands", "length": 4, "output": out},
              st.sampled_from(["middle", "upper", "lower"])),
)
operand = st.recursive(leaf, lambda inner: st.builds(
    lambda op, a, b: {op: [a, b]}, st.sampled_from(["add", "sub", "mul", "div"]), inner, inner),
    max_leaves=4)
comparison = st.builds(lambda op, a, b: {op: [a, b]},
                       st.sampled_from(["gt", "gte", "lt", "lte", "crosses_above",
                                        "crosses_below"]), operand, operand)
condition = st.recursive(comparison, lambda inner: st.one_of(
    st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda c: {"not": c}, inner),
    st.builds(lambda c, n: {"held": c, "bars": n}, inner, st.sampled_from([1, 2, 4, "$k"]))),
    max_leaves=5)
closes = st.lists(st.integers(95, 105).map(float), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=condition, exit_=condition, prices=closes, k=st.integers(2, 6),
       x=st.sampled_from([97.0, 100.0, 103.5]))
def test_given_generated_documents_when_evaluated_then_masks_equal_the_per_row_reference(
        entry, exit_, prices, k, x):
    masks, doc, c = _masks(_doc(entry, exit_, PARAMS), prices, {"k": k, "x": x})
    reference = Reference({"k": k, "x": x}, c)
    assert masks.entry.tolist() == reference.mask(doc.entry)
    assert masks.exit is not None and masks.exit.tolist() == reference.mask(doc.exit)


# --- semantics -----------------------------------------------------------------------------

CLOSES = [100, 99, 101, 101, 100, 102, 98, 103]


def test_given_crosses_above_then_true_only_where_a_moves_from_at_or_below_to_above():
    masks, _, _ = _masks(_doc({"crosses_above": [{"price": "close"}, 100.5]}), CLOSES)
    assert np.flatnonzero(masks.entry).tolist() == [2, 5, 7]
    masks, _, _ = _masks(_doc({"crosses_above": [{"price": "close"}, 101]}), CLOSES)
    assert np.flatnonzero(masks.entry).tolist() == [5, 7]  # 99→101 is not above 101


def test_given_crosses_below_then_mirrored_and_false_at_the_first_bar():
    masks, _, _ = _masks(_doc({"crosses_below": [{"price": "close"}, 100]}), CLOSES)
    assert np.flatnonzero(masks.entry).tolist() == [1, 6]
    masks, _, _ = _masks(_doc({"crosses_below": [{"price": "close"}, 1000]}), CLOSES)
    assert not masks.entry[0]


def test_given_an_indicator_warm_up_then_comparisons_are_false_and_not_of_them_true():
    sma = {"ind": "sma", "length": 3}
    masks, _, _ = _masks(_doc({"gt": [sma, 0]}, {"not": {"gt": [sma, 0]}}), CLOSES)
    assert masks.entry.tolist() == [False, False] + [True] * 6
    assert masks.exit.tolist() == [True, True] + [False] * 6


def test_given_a_cross_reading_a_warm_up_nan_at_t_minus_1_then_false():
    # sma(3) starts at bar 2; a cross needs a value at t-1, so bar 2 can never cross
    masks, _, _ = _masks(_doc({"crosses_above": [{"price": "close"},
                                                 {"ind": "sma", "length": 3}]}),
                         [200, 200, 300, 100, 300])
    assert masks.entry.tolist() == [False, False, False, False, True]


def test_given_shift_then_the_value_k_bars_earlier_and_nan_before_the_first_bar():
    masks, _, _ = _masks(_doc({"gt": [{"price": "close"}, {"price": "close", "shift": 1}]}),
                         CLOSES)
    assert masks.entry.tolist() == [False, False, True, False, False, True, False, True]


def test_given_division_by_zero_then_nan_so_the_comparison_is_false():
    doc = _doc({"any": [{"gt": [{"div": [1, {"sub": [{"price": "close"}, 101]}]}, -1e9]},
                        {"lt": [{"div": [1, 0]}, 1]}]})
    masks, _, _ = _masks(doc, CLOSES)
    assert masks.entry.tolist() == [c != 101 for c in CLOSES]


def test_given_all_any_not_and_held_then_boolean_logic_per_bar():
    up = {"gt": [{"price": "close"}, 100]}
    low = {"lt": [{"price": "close"}, 102]}
    masks, _, _ = _masks(_doc({"all": [up, low]}, {"any": [{"not": up}, {"held": up,
                                                                          "bars": 2}]}), CLOSES)
    assert masks.entry.tolist() == [False, False, True, True, False, False, False, False]
    assert masks.exit.tolist() == [True, True, False, True, True, False, True, False]


def test_given_params_then_constants_and_lengths_take_their_values_or_defaults():
    params = {"lvl": {"type": "float", "default": 100.5}, "n": {"type": "int", "default": 2}}
    doc = _doc({"gt": [{"ind": "sma", "length": "$n"}, "$lvl"]}, params=params)
    default, _, _ = _masks(doc, CLOSES)
    assert default.entry.tolist() == [False, False, False, True, False, True, False, False]
    other, _, _ = _masks(doc, CLOSES, {"lvl": 99.0, "n": 1})
    assert other.entry.tolist() == [c > 99 for c in CLOSES]


# --- the shared indicator cache ------------------------------------------------------------

def test_given_the_same_indicator_in_many_nodes_then_computed_once_per_symbol():
    rsi = {"ind": "rsi", "length": 3}
    doc = _doc({"all": [{"gt": [rsi, 10]}, {"lt": [rsi, 90]},
                        {"crosses_above": [rsi, {"ind": "rsi", "length": 3, "shift": 1}]}]},
               {"gt": [{"ind": "rsi", "length": 3, "source": {"price": "close"}}, 70]})
    cache = IndicatorCache(_candles(CLOSES * 3))
    _masks(doc, None, cache=cache)
    assert cache.computed == 1 and cache.hits == 4
    other = IndicatorCache(_candles(CLOSES * 3))
    _masks(_doc({"gt": [{"ind": "rsi", "length": 3, "source": {"price": "open"}}, 1]}),
           None, cache=other)
    assert other.computed == 1  # another source is another computation


def test_given_a_sweep_over_params_then_each_distinct_indicator_is_computed_once():
    params = {"fast": {"type": "int", "default": 2}, "slow": {"type": "int", "default": 5}}
    doc = _doc({"crosses_above": [{"ind": "sma", "length": "$fast"},
                                  {"ind": "sma", "length": "$slow"}]},
               {"crosses_below": [{"ind": "sma", "length": "$fast"},
                                  {"ind": "sma", "length": "$slow"}]}, params)
    cache = IndicatorCache(_candles(CLOSES * 4))
    combos = [(f, s) for f in range(2, 6) for s in range(2, 8)]
    for f, s in combos:
        _masks(doc, None, {"fast": f, "slow": s}, cache=cache)
    assert cache.computed == len(set(range(2, 8)))  # sma(2..7), each once
    assert cache.hits == 4 * len(combos) - cache.computed
