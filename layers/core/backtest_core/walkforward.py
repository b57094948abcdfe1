"""Walk-forward validation of a sweep (docs/sweeps.md, "Walk-forward"). Pure Python.

- ``walk_forward_plan``: which bars each fold trains and tests on. The T bars of the
  (union) timeline are cut into k + 1 segments, segment j = [⌊j·T/(k+1)⌋, ⌊(j+1)·T/(k+1)⌋);
  fold j = 1..k tests on segment j and trains on segment j − 1 (rolling) or on segments
  0..j − 1 (anchored).
- ``check_walk_forward``: the submit-time check (a 422 naming
  ``validation.walk_forward.folds``) that every segment has at least 2 bars.
- ``choose_best`` and ``walk_forward_summary``: the chosen combination of each fold and
  the ``walk_forward`` block of the result.

>>> [(f.train_start, f.train_end, f.test_start, f.test_end)
...  for f in walk_forward_plan(10, 2, anchored=True)]
[(0, 3, 3, 6), (0, 6, 6, 10)]
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from backtest_core.errors import ValidationFailed

FOLDS_LOC: list[str | int] = ["body", "validation", "walk_forward", "folds"]
MIN_SEGMENT_BARS = 2  # a range needs 2 bars for one per-bar return


@dataclass(frozen=True)
class Fold:
    """Fold ``fold`` (1..k): bar index ranges, start included, end excluded."""

    fold: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int


@dataclass(frozen=True)
class FoldOutcome:
    """What the engine measured in one fold: the bars' timestamps (ISO strings) at the ends of
    its ranges, every combination's ``rank_by`` score on the training range (grid order;
    None for a null metric) and the chosen combination's score on the test range."""

    fold: int
    train_first: str
    train_last: str
    test_first: str
    test_last: str
    train_scores: list[float | None]
    test_score: float | None


def min_walk_forward_bars(folds: int) -> int:
    """Bars a window needs for ``folds`` folds: k + 1 segments of at least 2 bars."""
    return MIN_SEGMENT_BARS * (folds + 1)


def walk_forward_problem(total_bars: int, folds: int) -> str | None:
    """Why ``total_bars`` bars cannot be cut into ``folds`` folds (None when they can)."""
    need = min_walk_forward_bars(folds)
    if total_bars >= need:
        return None
    return (f"walk-forward with {folds} folds needs at least {need} bars ({folds + 1} "
            f"segments of {MIN_SEGMENT_BARS}); the window has {total_bars}")


def check_walk_forward(total_bars: int, folds: int) -> None:
    """Raise ValidationFailed (422 at ``validation.walk_forward.folds``) when the window's
    ``total_bars`` are too few for ``folds`` folds."""
    problem = walk_forward_problem(total_bars, folds)
    if problem is not None:
        raise ValidationFailed.single(FOLDS_LOC, problem)


def walk_forward_plan(total_bars: int, folds: int, anchored: bool) -> list[Fold]:
    """The k folds over T = ``total_bars`` bars (module docstring). Raises ValueError when
    a segment would have fewer than 2 bars (``walk_forward_problem``)."""
    problem = walk_forward_problem(total_bars, folds)
    if problem is not None:
        raise ValueError(problem)
    edges = [j * total_bars // (folds + 1) for j in range(folds + 2)]
    return [Fold(fold=j, train_start=0 if anchored else edges[j - 1], train_end=edges[j],
                 test_start=edges[j], test_end=edges[j + 1])
            for j in range(1, folds + 1)]


def choose_best(train_scores: list[float | None], lower_is_better: bool = False) -> int:
    """Index of the best training score; ties keep grid order (the first), None ranks last
    (index 0 when every score is None)."""
    sign = 1.0 if lower_is_better else -1.0
    return min(range(len(train_scores)),
               key=lambda i: (train_scores[i] is None, sign * (train_scores[i] or 0.0)))


def walk_forward_summary(outcomes: list[FoldOutcome], combinations: list[dict[str, Any]],
                         lower_is_better: bool = False) -> dict[str, Any]:
    """The ``walk_forward`` block: ``{folds: [{fold, train: {first, last}, test: {first,
    last}, best_params, train_score, test_score}], is_score, oos_score, efficiency}``.

    ``combinations`` = the full params of every combination in grid order; the chosen one
    of a fold is ``choose_best`` of its ``train_scores``. ``is_score`` / ``oos_score`` = mean
    train / test score of the chosen (None if any is None); ``efficiency`` = oos / is (None
    when is_score ≤ 0 or either is None).
    """
    folds = []
    for outcome in outcomes:
        best = choose_best(outcome.train_scores, lower_is_better)
        folds.append({"fold": outcome.fold,
                      "train": {"first": outcome.train_first, "last": outcome.train_last},
                      "test": {"first": outcome.test_first, "last": outcome.test_last},
                      "best_params": combinations[best],
                      "train_score": outcome.train_scores[best],
                      "test_score": outcome.test_score})
    is_score = _mean([f["train_score"] for f in folds])
    oos_score = _mean([f["test_score"] for f in folds])
    efficiency = (oos_score / is_score if is_score is not None and oos_score is not None
                  and is_score > 0 else None)
    return {"folds": folds, "is_score": is_score, "oos_score": oos_score,
            "efficiency": efficiency}


def _mean(values: list[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return statistics.fmean(float(v) for v in values if v is not None)
