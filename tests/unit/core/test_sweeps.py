"""Sweeps in the core: grid order, shard plan, ranking, overfitting block, validation."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from backtest_contract.registry import builtin
from backtest_core.aggregate import (
    leaderboard,
    mean_pbo,
    score,
    sweep_document,
    symbol_pbo,
    walk_forward_block,
)
from backtest_core.errors import ValidationFailed
from backtest_core.models import SweepRequest, TaskRecord, TaskStatus
from backtest_core.sweeps import expand_grid, shard_plan, shard_spec, validated_sweep
from tests.unit.core.fakes import FakeStats

BASE = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW", "ETH_KRW"],
        "start_date": "2024-01-01", "end_date": "2024-01-31", "timeframe": "1h"}


VZB = builtin("volume_zone_breakout")


def _sweep(**over: Any) -> SweepRequest:
    return SweepRequest.model_validate({**BASE, "grid": {"volume_window": [10, 20]}, **over})


def test_given_a_grid_when_expanded_then_the_last_key_varies_fastest():
    combos = expand_grid({"b": [1, 2], "a": ["x", "y", "z"]})
    assert combos[:4] == [{"b": 1, "a": "x"}, {"b": 1, "a": "y"}, {"b": 1, "a": "z"},
                          {"b": 2, "a": "x"}]
    assert len(combos) == 6


def test_given_a_stored_sweep_when_read_back_then_the_grid_keeps_its_key_order():
    request = _sweep(grid={"volume_window": [10], "num_bins": [5, 7], "breakout_buffer": [0]})
    again = SweepRequest.model_validate_json(request.canonical_json())
    assert list(again.grid) == ["volume_window", "num_bins", "breakout_buffer"]


@pytest.mark.parametrize(("combos", "symbols", "per_shard", "expected"), [
    (64, 4, 32, (8, 32)), (4, 2, 2, (4, 2)), (5, 1, 2, (3, 2)), (1, 3, 32, (3, 1)),
    (10_000, 50, 1, (2000, 250)),
])
def test_given_a_grid_when_planned_then_shards_cover_it_in_chunks(combos, symbols, per_shard,
                                                                  expected):
    shards, size = shard_plan(combos, symbols, per_shard)
    assert (shards, size) == expected
    assert shards <= 2000 and math.ceil(combos / size) * symbols == shards


def test_given_a_sweep_record_when_sharded_then_each_shard_is_one_symbol_and_one_chunk():
    request = _sweep(params={"num_bins": 5}, grid={"volume_window": [1, 2, 3],
                                                   "top_percentile": [0.1, 0.2]})
    record = TaskRecord(task_id="t", owner="o", status=TaskStatus.RUNNING, request=request,
                        created_at="x", updated_at="x", expires_at=0, shards_total=4,
                        shard_size=4)
    specs = [shard_spec(record, i) for i in range(4)]
    assert [s.symbol for s in specs] == ["BTC_KRW", "BTC_KRW", "ETH_KRW", "ETH_KRW"]
    assert [len(s.combinations or []) for s in specs] == [4, 2, 4, 2]
    assert specs[1].combinations == [
        {"num_bins": 5, "volume_window": 3, "top_percentile": 0.1},
        {"num_bins": 5, "volume_window": 3, "top_percentile": 0.2}]
    with pytest.raises(ValueError):
        shard_spec(record, 4)


def test_given_bad_grid_values_when_validated_then_422_names_grid_key_and_index():
    with pytest.raises(ValidationFailed) as err:
        validated_sweep(_sweep(grid={"volume_window": [10, 0, "x"], "num_bins": ["7"]}), VZB)
    locs = [e["loc"] for e in err.value.detail]
    assert locs == [["body", "grid", "volume_window", 1], ["body", "grid", "volume_window", 2]]


def test_given_numeric_strings_when_validated_then_grid_values_are_coerced():
    assert validated_sweep(_sweep(grid={"num_bins": ["7", 9]}), VZB).grid == {"num_bins": [7, 9]}


def test_given_unknown_grid_key_when_validated_then_422_names_it():
    with pytest.raises(ValidationFailed) as err:
        validated_sweep(_sweep(grid={"nope": [1]}), VZB)
    assert err.value.detail[0]["loc"] == ["body", "grid", "nope", 0]


@pytest.mark.parametrize(("over", "fragment"), [
    ({"params": {"volume_window": 5}}, "may not also be in params: volume_window"),
    ({"grid": {"volume_window": list(range(1, 11)), "num_bins": list(range(1, 12))},
      "max_combinations": 100}, "110 combinations, more than max_combinations (100)"),
    ({"grid": {"volume_window": []}}, "non-empty"),
    ({"grid": {}}, "at least 1 item"),
])
def test_given_a_bad_sweep_body_then_the_error_names_grid(over, fragment):
    with pytest.raises(ValidationError) as err:
        _sweep(**over)
    (first,) = err.value.errors()
    assert first["loc"] == ("grid",) and fragment in first["msg"]


def test_given_max_combinations_above_the_ceiling_then_it_is_refused():
    with pytest.raises(ValidationError) as err:
        _sweep(max_combinations=10_001)
    assert err.value.errors()[0]["loc"] == ("max_combinations",)


def _entry(sharpe: float, dd: float, signals: int = 1) -> dict[str, Any]:
    return {"total_signals": signals, "win_rate": 0.5, "avg_return": 0.1, "max_drawdown": 1.0,
            "portfolio": {"sharpe": sharpe, "max_drawdown_pct": dd, "total_return_pct": 1.0,
                          "sortino": 0.0},
            "stats": {"sharpe_per_bar": sharpe / 100, "skewness": 0.0, "kurtosis": 3.0},
            "pbo_sum": [sharpe, dd], "pbo_sumsq": [sharpe * sharpe, dd * dd]}


def test_given_scores_when_ranked_then_best_mean_first_and_ties_keep_grid_order():
    request = _sweep(grid={"volume_window": [1, 2, 3, 4]})
    combos = expand_grid(request.grid)
    entries = {"BTC_KRW": [_entry(1, 5), _entry(3, 9), _entry(3, 2), _entry(3, 9)],
               "ETH_KRW": [_entry(1, 1), _entry(1, 1), _entry(2, 4), _entry(1, 1)]}
    board = leaderboard(request, combos, entries)
    # means 1, 2, 2.5, 2: the tie of combinations 1 and 3 keeps grid order
    assert [index for _, index in board] == [2, 1, 3, 0]
    assert [e["score"] for e, _ in board] == [2.5, 2.0, 2.0, 1.0]
    assert board[0][0]["params"] == {"volume_window": 3} and board[0][0]["rank"] == 1
    assert [e["rank"] for e, _ in board] == [1, 2, 3, 4]


def test_given_max_drawdown_rank_when_ranked_then_lower_is_better():
    request = _sweep(grid={"volume_window": [1, 2, 3]}, rank_by="portfolio.max_drawdown_pct")
    entries = {"BTC_KRW": [_entry(0, 7), _entry(0, 3), _entry(0, 5)]}
    board = leaderboard(request, expand_grid(request.grid), entries)
    assert [index for _, index in board] == [1, 2, 0]


def test_given_a_null_metric_then_the_score_is_null_and_ranked_last():
    assert score([{"portfolio": {"sharpe": None}}], "portfolio.sharpe") is None
    assert score([{"total_signals": 2}, {"total_signals": 5}], "total_signals") == 3.5


def test_given_shards_when_aggregated_then_failed_symbols_and_overfitting_are_reported():
    request = _sweep(grid={"volume_window": [1, 2]})
    btc = {"symbol": "BTC_KRW", "bars": 100, "pbo_rows": 99, "failed_reason": None,
           "engine_version": "1.3.0", "entries": [_entry(1, 5), _entry(3, 2)]}
    docs = [btc, {"error": "bad row 7"}]  # one shard per symbol (2 combinations each)
    stats = FakeStats(dsr=0.42)
    doc = sweep_document(request, "run", docs, {"engine_version": None}, 1.5, stats)
    assert doc is not None
    assert doc["failed_symbols"] == [{"symbol": "ETH_KRW", "reason": "shard failed: bad row 7"}]
    assert doc["symbols"] == ["BTC_KRW"] and doc["combinations"] == 2
    assert doc["leaderboard"][0]["params"] == {"volume_window": 2}
    over = doc["overfitting"]
    assert over["trials"] == 2 and over["per_symbol"]["BTC_KRW"]["sharpe_per_bar"] == 0.03
    # the best entry's moments, T = bars, V = population variance of (0.01, 0.03), N = 2
    (args,) = stats.dsr_calls
    assert args[:4] == (0.03, 100, 0.0, 3.0) and args[5] == 2
    assert args[4] == pytest.approx(0.0001, rel=1e-12)
    assert over["per_symbol"]["BTC_KRW"]["deflated_sharpe"] == 0.42
    assert over["per_symbol"]["BTC_KRW"]["pbo"] == 0.25 and over["pbo"] == 0.25
    assert stats.pbo_calls == [(99, [[1, 5], [3, 2]], [[1, 25], [9, 4]])]
    assert "walk_forward" not in doc
    assert sweep_document(request, "run", [None, {"error": "x"}], {}, 0.0, stats) is None


def test_given_entries_with_block_sums_then_the_symbols_pbo_comes_from_the_stats_port():
    entries = [{"pbo_sum": [0.1 * i, 0.2], "pbo_sumsq": [0.01, 0.04 * i]} for i in range(3)]
    stats = FakeStats(pbo=0.5)
    assert symbol_pbo(99, entries, stats) == {"pbo": 0.5, "pbo_reason": None}
    # combinations in grid order, one row of S block values each
    assert stats.pbo_calls == [(99, [e["pbo_sum"] for e in entries],
                                [e["pbo_sumsq"] for e in entries])]
    assert symbol_pbo(3, entries, FakeStats(pbo=None)) == {"pbo": None,
                                                           "pbo_reason": "fake: no PBO"}


def test_given_per_symbol_pbo_then_the_mean_skips_the_null_ones():
    assert mean_pbo({"A": {"pbo": 0.2}, "B": {"pbo": None}, "C": {"pbo": 0.6}}) == \
        pytest.approx(0.4)
    assert mean_pbo({"A": {"pbo": None, "pbo_reason": "too few"}}) is None


def test_given_range_scores_when_walking_forward_then_each_fold_picks_its_best_on_train():
    combos = [{"w": 1}, {"w": 2}, {"w": 3}]
    ranges = [{"first": f"T{i}", "last": f"U{i}"} for i in range(4)]  # 2 trains, 2 tests
    # per combination: scores on (train 1, train 2, test 1, test 2)
    btc = [{"wf_scores": [1.0, 2.0, 0.5, -1.0]}, {"wf_scores": [3.0, 2.0, 0.1, 0.4]},
           {"wf_scores": [3.0, 1.0, 9.0, 9.0]}]
    eth = [{"wf_scores": [1.0, None, 0.5, 0.2]}, {"wf_scores": [1.0, 2.0, 0.3, 0.6]},
           {"wf_scores": [1.0, 1.0, 9.0, 9.0]}]

    block = walk_forward_block(combos, ranges, [btc, eth], False)

    first, second = block["folds"]
    # fold 1: means 1, 2, 2 → the tie of w=2 and w=3 keeps grid order; test (0.1+0.3)/2
    assert first["best_params"] == {"w": 2} and first["train_score"] == 2.0
    assert first["test_score"] == pytest.approx(0.2)
    assert first["train"] == {"first": "T0", "last": "U0"}
    assert first["test"] == {"first": "T2", "last": "U2"}
    # fold 2: w=1 has only BTC's 2.0 (ETH null there), w=2 has 2.0 too → w=1 first
    assert second["best_params"] == {"w": 1} and second["test_score"] == pytest.approx(-0.4)
    assert block["is_score"] == 2.0 and block["oos_score"] == pytest.approx(-0.1)
    assert block["efficiency"] == pytest.approx(-0.05)
