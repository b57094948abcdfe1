"""The breakout's tie slack absorbs float rounding only, never a real volume difference."""

from __future__ import annotations

import numpy as np
import pytest

from backtest_engine.strategies._profile import resistance_levels


@pytest.mark.parametrize(
    ("low", "high", "volume", "bins", "p", "expected"),
    [
        # Two flat bars: 1 at 101, 1 + 2e-9 at 100; p = 0.5 is not reached at the top bin.
        ([101.0, 100.0, 100.0], [101.0, 100.0, 100.0], [1.0, 1.0 + 2e-9, 1.0], 20, 0.5, 100.0),
        # p = 1 needs all the volume: the bottom edge, however big the flat top bar is.
        ([90.0, 110.0, 100.0], [110.0, 110.0, 100.0], [1.0, 1e10, 1.0], 20, 1.0, 90.0),
    ],
)
def test_given_a_near_tie_that_is_a_real_difference_then_the_exact_resistance(
    low, high, volume, bins, p, expected
):
    levels = resistance_levels(np.array(low), np.array(high), np.array(volume), window=2,
                               num_bins=bins, top_fraction=p)
    assert levels[2] == pytest.approx(expected)


def test_given_an_exact_tie_then_it_counts_as_reached():
    # Equal volumes at 101 and 100, p = 0.5: the top bin alone holds exactly half.
    levels = resistance_levels(np.array([101.0, 100.0, 100.0]), np.array([101.0, 100.0, 100.0]),
                               np.array([0.1, 0.1, 1.0]), window=2, num_bins=20,
                               top_fraction=0.5)
    assert levels[2] == pytest.approx(100.95)


def test_given_constant_per_bar_returns_then_sharpe_is_zero_not_a_rounding_artifact():
    from backtest_engine.portfolio import _ratios

    equity = np.array([1.0, 1.1, 1.21, 1.331])  # +10 % every bar: no spread at all
    sharpe, _ = _ratios(equity, 365.0)
    assert sharpe == 0.0
