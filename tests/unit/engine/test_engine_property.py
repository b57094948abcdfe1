"""Property: the vectorised breakout equals the plain per-window reference."""

import numpy as np
from engine_helpers import candles
from engine_vzb_reference import reference_levels, reference_signals
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest_engine.strategies._profile import resistance_levels
from backtest_engine.strategies.volume_zone_breakout import VolumeZoneBreakoutParams, generate


@st.composite
def candle_rows(draw):
    """Random positive candles with flat (O=H=L=C) bars, zero volume and repeated prices."""
    n = draw(st.integers(1, 40))
    base = draw(st.sampled_from([1.0, 100.0, 0.0123]))
    rows = []
    for _ in range(n):
        kind = draw(st.sampled_from(["normal", "normal", "flat", "zero_volume"]))
        o = base * draw(st.floats(0.5, 2.0))
        c = base * draw(st.floats(0.5, 2.0))
        h = max(o, c) * (1 + draw(st.floats(0, 0.2)))
        low = min(o, c) * (1 - draw(st.floats(0, 0.2)))
        v = draw(st.one_of(st.just(0.0), st.floats(1e-6, 1e6)))  # no subnormal products
        if kind == "flat":
            h = low = c = o
        if kind == "zero_volume":
            v = 0.0
        rows.append((o, h, low, c, v))
    if draw(st.booleans()):  # a stretch of identical flat bars → lo == hi windows
        rows[: len(rows) // 2] = [(base, base, base, base, 10.0)] * (len(rows) // 2)
    return rows


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=candle_rows(),
    window=st.integers(1, 12),
    num_bins=st.integers(1, 30),
    p=st.floats(0.01, 1.0),
    buffer=st.sampled_from([0.0, 0.001, 0.05]),
    wicks=st.booleans(),
)
def test_given_random_candles_when_generating_then_fast_breakout_equals_reference(
        rows, window, num_bins, p, buffer, wicks):
    c = candles(rows)
    params = VolumeZoneBreakoutParams(volume_window=window, num_bins=num_bins,
                                      top_percentile=p, breakout_buffer=buffer,
                                      include_wicks=wicks)
    fast = generate(c, params, lambda _n: None)
    mask, levels, tie = reference_signals(c.open, c.high, c.low, c.close, c.volume, window,
                                          num_bins, p, buffer, wicks)
    decided = ~tie  # exact ties are documented as tolerance-decided; kept out of equality
    fast_mask = np.asarray(fast.entry, dtype=bool)
    np.testing.assert_array_equal(fast_mask[decided], mask[decided])
    trigger = levels * (1 + buffer)
    expected_conf = np.minimum(0.5 + (c.high - trigger) / trigger, 1.0)
    keep = decided[fast.entry_index]
    np.testing.assert_allclose(fast.confidence_at(fast.entry_index)[keep],
                               expected_conf[fast.entry_index][keep],
                               rtol=1e-12)


@settings(max_examples=300, deadline=None)
@given(rows=candle_rows(), window=st.integers(1, 12), num_bins=st.integers(1, 30),
       p=st.floats(0.01, 1.0))
def test_given_random_candles_when_profiling_then_levels_equal_reference_bin_edges(
        rows, window, num_bins, p):
    c = candles(rows)
    fast = resistance_levels(c.low, c.high, c.volume, window, num_bins, p)
    expected, tie = reference_levels(c.low, c.high, c.volume, window, num_bins, p)
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(expected))
    np.testing.assert_array_equal(fast[~tie], expected[~tie])


def test_given_example_with_exact_tie_when_profiling_then_tie_counts_as_reached():
    # Two bars of equal volume on disjoint halves, p = 0.5: the top bin holds exactly half.
    c = candles([(1, 2, 1, 2, 10), (3, 4, 3, 4, 10), (4, 4, 4, 4, 0)])
    fast = resistance_levels(c.low, c.high, c.volume, 2, 2, 0.5)
    assert fast[2] == 2.5
