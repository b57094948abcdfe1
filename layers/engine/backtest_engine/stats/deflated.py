"""The deflated Sharpe ratio (Bailey & López de Prado 2014) of a sweep's best entry.

Pure Python (``statistics.NormalDist`` for Φ and Φ⁻¹); it sits next to the PBO of
``stats/pbo.py`` so that a sweep's overfitting statistics live in one package. docs/sweeps.md
says which returns, moments and variance go in.
"""

from __future__ import annotations

import math
import statistics

EULER_GAMMA = 0.5772156649015329


def deflated_sharpe(sr: float, bars: int, skewness: float, kurtosis: float, variance: float,
                    trials: int) -> float | None:
    """Deflated Sharpe ratio:

    DSR = Φ((SR − SR₀)·√(T−1) / √(1 − γ₃·SR + (γ₄−1)/4·SR²)),
    SR₀ = √V·((1−γ)·Φ⁻¹(1−1/N) + γ·Φ⁻¹(1−1/(N·e))).

    ``sr`` per bar, ``bars`` = T, ``kurtosis`` non-excess, ``variance`` = V of the per-bar
    Sharpe over the N ``trials``. None when N < 2, V = 0, T < 2 or the variance term ≤ 0.

    >>> round(deflated_sharpe(0.1, 101, 0.0, 3.0, 0.0025, 2), 6)
    0.769828
    """
    if trials < 2 or variance <= 0 or bars < 2:
        return None
    phi = statistics.NormalDist()
    sr0 = math.sqrt(variance) * ((1 - EULER_GAMMA) * phi.inv_cdf(1 - 1 / trials)
                                 + EULER_GAMMA * phi.inv_cdf(1 - 1 / (trials * math.e)))
    spread = 1 - skewness * sr + (kurtosis - 1) / 4 * sr * sr
    if spread <= 0:
        return None
    return phi.cdf((sr - sr0) * math.sqrt(bars - 1) / math.sqrt(spread))
