"""The deflated Sharpe ratio (backtest_engine.stats) on hand-computed examples."""

import pytest

from backtest_engine.stats import deflated_sharpe


def test_given_hand_computed_example_when_deflating_then_dsr_matches():
    # SR = 0.1 per bar, T = 101, γ3 = 0, γ4 = 3, V = 0.0025, N = 2:
    # Φ⁻¹(1 − 1/2) = 0; Φ⁻¹(1 − 1/(2e)) = Φ⁻¹(0.816060) = 0.900453
    # SR0 = 0.05 · (0.422784 · 0 + 0.577216 · 0.900453) = 0.025988
    # z = (0.1 − 0.025988) · √100 / √(1 + 2/4 · 0.01) = 0.740122 / 1.002497 = 0.738279
    # DSR = Φ(0.738279) = 0.769828
    assert deflated_sharpe(0.1, 101, 0.0, 3.0, 0.0025, 2) == pytest.approx(0.769828, abs=1e-6)
    # SR = 0.3, T = 50, γ3 = −0.5, γ4 = 5, V = 0.01, N = 10:
    # SR0 = 0.1 · (0.422784 · 1.281552 + 0.577216 · 1.789242) = 0.157460
    # z = (0.3 − 0.157460) · 7 / √(1 + 0.15 + 0.09) = 0.997781 / 1.113553 = 0.896034
    assert deflated_sharpe(0.3, 50, -0.5, 5.0, 0.01, 10) == pytest.approx(0.814883, abs=1e-6)


@pytest.mark.parametrize(("variance", "trials"), [(0.0, 10), (0.01, 1)])
def test_given_no_spread_or_one_trial_when_deflating_then_null(variance, trials):
    assert deflated_sharpe(0.1, 100, 0.0, 3.0, variance, trials) is None

