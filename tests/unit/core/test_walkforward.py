"""Walk-forward in the core (backtest_core.walkforward): the fold plan, the submit-time
check and the ``walk_forward`` block."""

from __future__ import annotations

import doctest

import pytest

from backtest_core import walkforward
from backtest_core.errors import ValidationFailed
from backtest_core.walkforward import (
    FoldOutcome,
    check_walk_forward,
    choose_best,
    min_walk_forward_bars,
    walk_forward_plan,
    walk_forward_summary,
)


def _ranges(total: int, folds: int, anchored: bool) -> list[tuple[int, int, int, int]]:
    return [(f.train_start, f.train_end, f.test_start, f.test_end)
            for f in walk_forward_plan(total, folds, anchored)]


def test_given_bars_divisible_by_the_segments_when_planned_then_equal_segments():
    # T = 12, k = 3: segments [0,3) [3,6) [6,9) [9,12)
    assert _ranges(12, 3, anchored=False) == [(0, 3, 3, 6), (3, 6, 6, 9), (6, 9, 9, 12)]
    assert _ranges(12, 3, anchored=True) == [(0, 3, 3, 6), (0, 6, 6, 9), (0, 9, 9, 12)]
    assert [f.fold for f in walk_forward_plan(12, 3, False)] == [1, 2, 3]


def test_given_bars_not_divisible_when_planned_then_edges_are_floors():
    # T = 10, k = 2: edges ⌊0⌋ ⌊10/3⌋ = 3 ⌊20/3⌋ = 6, 10
    assert _ranges(10, 2, anchored=False) == [(0, 3, 3, 6), (3, 6, 6, 10)]
    # T = 101, k = 4: edges 0, 20, 40, 60, 80, 101 (the last segment takes the remainder)
    assert _ranges(101, 4, anchored=False)[-1] == (60, 80, 80, 101)


@pytest.mark.parametrize("folds", [2, 7, 20])
@pytest.mark.parametrize("total", [42, 43, 1000, 8761])
@pytest.mark.parametrize("anchored", [False, True])
def test_given_any_window_when_planned_then_tests_tile_the_window_after_segment_zero(
        folds, total, anchored):
    plan = walk_forward_plan(total, folds, anchored)
    assert len(plan) == folds
    assert plan[0].test_start == total // (folds + 1) and plan[-1].test_end == total
    for before, after in zip(plan, plan[1:], strict=False):
        assert before.test_end == after.test_start  # contiguous, no overlap
    for fold in plan:
        assert fold.train_end == fold.test_start  # train right before test, never after
        assert fold.test_end - fold.test_start >= 2 and fold.train_end - fold.train_start >= 2
        assert fold.train_start == (0 if anchored else plan[fold.fold - 2].test_start
                                    if fold.fold > 1 else 0)


def test_given_twenty_folds_at_the_minimum_then_every_segment_has_two_bars():
    assert min_walk_forward_bars(20) == 42
    plan = walk_forward_plan(42, 20, anchored=False)
    assert {f.test_end - f.test_start for f in plan} == {2}


@pytest.mark.parametrize(("total", "folds"), [(5, 2), (41, 20), (0, 2)])
def test_given_a_window_too_short_then_a_422_names_folds_and_the_minimum(total, folds):
    with pytest.raises(ValidationFailed) as err:
        check_walk_forward(total, folds)
    (item,) = err.value.detail
    assert item["loc"] == ["body", "validation", "walk_forward", "folds"]
    need = 2 * (folds + 1)
    assert f"needs at least {need} bars" in item["msg"] and f"has {total}" in item["msg"]
    with pytest.raises(ValueError, match=f"at least {need} bars"):
        walk_forward_plan(total, folds, anchored=False)


def test_given_enough_bars_then_the_check_passes():
    assert check_walk_forward(6, 2) is None


def test_given_tied_train_scores_then_the_first_in_grid_order_is_chosen():
    assert choose_best([1.0, 3.0, 3.0, 2.0]) == 1
    assert choose_best([None, 0.5, 0.5]) == 1  # None ranks last
    assert choose_best([None, None]) == 0
    assert choose_best([5.0, 2.0, 2.0], lower_is_better=True) == 1


def _outcome(fold: int, train: list[float | None], test: float | None) -> FoldOutcome:
    return FoldOutcome(fold=fold, train_first=f"t{fold}a", train_last=f"t{fold}b",
                       test_first=f"o{fold}a", test_last=f"o{fold}b", train_scores=train,
                       test_score=test)


COMBOS = [{"volume_window": 10}, {"volume_window": 20}, {"volume_window": 40}]


def test_given_fold_outcomes_when_summarised_then_the_block_has_the_chosen_ones():
    block = walk_forward_summary([_outcome(1, [0.5, 2.0, 2.0], 1.0),
                                  _outcome(2, [1.0, 0.0, 3.0], -0.5)], COMBOS)
    assert block["folds"][0] == {"fold": 1, "train": {"first": "t1a", "last": "t1b"},
                                 "test": {"first": "o1a", "last": "o1b"},
                                 "best_params": {"volume_window": 20}, "train_score": 2.0,
                                 "test_score": 1.0}
    assert block["folds"][1]["best_params"] == {"volume_window": 40}
    assert block["is_score"] == 2.5 and block["oos_score"] == 0.25
    assert block["efficiency"] == pytest.approx(0.1)


@pytest.mark.parametrize(("train", "test", "efficiency"), [
    ([-1.0, -2.0], 1.0, None),  # is_score ≤ 0
    ([0.0, 0.0], 1.0, None),
    ([None, None], 1.0, None),  # no score: nothing to divide
    ([2.0, 1.0], None, None),
    ([2.0, 1.0], 3.0, 1.5),
])
def test_given_scores_when_summarised_then_efficiency_is_null_unless_is_score_positive(
        train, test, efficiency):
    block = walk_forward_summary([_outcome(1, train, test), _outcome(2, train, test)],
                                 COMBOS[:2])
    assert block["efficiency"] == efficiency


def test_given_lower_is_better_when_summarised_then_the_lowest_train_score_is_chosen():
    block = walk_forward_summary([_outcome(1, [7.0, 3.0, 3.0], 4.0)], COMBOS,
                                 lower_is_better=True)
    assert block["folds"][0]["best_params"] == {"volume_window": 20}


def test_given_the_module_docstring_example_then_it_holds():
    failures, tried = doctest.testmod(walkforward)
    assert tried >= 1 and failures == 0
