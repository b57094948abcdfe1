"""Candles for a chart (docs/console.md "Candles API"): bucket merging counted from the
first bar, exact boundaries, the short last bucket, and raw bars when they fit."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from backtest_engine import MemoryReader, to_parquet_layout
from backtest_engine.candles import Candles
from backtest_engine.chart import bucket_size, chart_candles, merge_buckets

HOUR_NS = 3600 * 10**9


def bars(n: int, seed: int = 3) -> Candles:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    open_ = close + rng.normal(0, 0.5, n)
    high = np.maximum(open_, close) + rng.uniform(0, 1, n)
    low = np.minimum(open_, close) - rng.uniform(0, 1, n)
    return Candles(np.arange(n, dtype=np.int64) * HOUR_NS, open_, high, low, close,
                   rng.uniform(1, 10, n))


@pytest.mark.parametrize(("n", "max_points", "expected"), [
    (0, 100, 1), (100, 100, 1), (101, 100, 2), (200, 100, 2), (201, 100, 3), (10_000, 1500, 7),
])
def test_given_n_bars_then_the_bucket_holds_the_ceiling_of_n_over_max_points(n, max_points,
                                                                             expected):
    assert bucket_size(n, max_points) == expected
    assert -(-n // expected) <= max_points  # never more points than asked


def test_given_no_more_bars_than_max_points_then_the_bars_come_back_unchanged():
    c = bars(100)
    b, merged = merge_buckets(c, 100)
    assert b == 1 and merged is c


def test_given_ten_bars_and_four_points_then_buckets_of_three_from_the_first_bar():
    c = bars(10)
    b, merged = merge_buckets(c, 4)
    assert b == 3 and len(merged) == 4  # bars 0-2, 3-5, 6-8 and the short last one, 9
    for k, (lo, hi) in enumerate([(0, 3), (3, 6), (6, 9), (9, 10)]):
        assert merged.ts_ns[k] == c.ts_ns[lo]
        assert merged.open[k] == c.open[lo]
        assert merged.high[k] == c.high[lo:hi].max()
        assert merged.low[k] == c.low[lo:hi].min()
        assert merged.close[k] == c.close[hi - 1]
        assert merged.volume[k] == pytest.approx(c.volume[lo:hi].sum(), rel=1e-12)


def test_given_bars_that_divide_evenly_then_every_bucket_is_full_and_volume_is_kept():
    c = bars(3000)
    b, merged = merge_buckets(c, 1500)
    assert b == 2 and len(merged) == 1500
    assert merged.ts_ns.tolist() == c.ts_ns[::2].tolist()
    assert merged.close.tolist() == c.close[1::2].tolist()
    assert merged.volume.sum() == pytest.approx(c.volume.sum(), rel=1e-12)


def _reader(n: int) -> MemoryReader:
    c = bars(n)
    frame = pd.DataFrame({"timestamp": pd.to_datetime(c.ts_ns + 1_704_067_200 * 10**9, utc=True),
                          "open": c.open, "high": c.high, "low": c.low, "close": c.close,
                          "volume": c.volume})
    return MemoryReader(to_parquet_layout(frame, "BTC_KRW", "1h"))


def test_given_stored_bars_when_a_window_is_charted_then_only_its_bars_are_merged():
    reader = _reader(24 * 10)  # 2024-01-01 .. 2024-01-10, hourly
    view = chart_candles(reader, "BTC_KRW", "1h", date(2024, 1, 2), date(2024, 1, 3), 100)
    assert view["bucket_bars"] == 1 and len(view["t"]) == 48
    assert view["t"][0] == "2024-01-02T00:00:00Z" and view["t"][-1] == "2024-01-03T23:00:00Z"
    assert {len(view[k]) for k in ("open", "high", "low", "close", "volume")} == {48}
    merged = chart_candles(reader, "BTC_KRW", "1h", date(2024, 1, 1), date(2024, 1, 10), 100)
    assert merged["bucket_bars"] == 3 and len(merged["t"]) == 80
    assert merged["t"][1] == "2024-01-01T03:00:00Z"


def test_given_nothing_stored_or_an_empty_window_then_none_or_empty_lists():
    reader = _reader(24)
    assert chart_candles(reader, "ETH_KRW", "1h", date(2024, 1, 1), date(2024, 1, 2), 100) is None
    assert chart_candles(reader, "BTC_KRW", "1d", date(2024, 1, 1), date(2024, 1, 2), 100) is None
    empty = chart_candles(reader, "BTC_KRW", "1h", date(2024, 3, 1), date(2024, 3, 2), 100)
    assert empty["t"] == [] and empty["close"] == [] and empty["bucket_bars"] == 1
