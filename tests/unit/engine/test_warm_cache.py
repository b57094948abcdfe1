"""The warm-process caches (backtest_engine.warm, docs/engine.md "Warm caches"): parsed
year files keyed by the reader's version of the object, indicators keyed by the identity
of the loaded candles; hits, misses on any change, and the byte bound."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pandas as pd
import pytest

from backtest_engine import MemoryReader, RunSpec, to_parquet_layout, warm
from backtest_engine.indicators import IndicatorCache
from backtest_engine.loading import load_symbol
from backtest_engine.sweep import run_sweep_shard
from backtest_engine.warm import ByteLru

SMA_CROSS = {"name": "sma_cross", "params": {
    "fast": {"type": "int", "default": 3, "min": 2, "max": 50},
    "slow": {"type": "int", "default": 8, "min": 2, "max": 50}},
    "entry": {"crosses_above": [{"ind": "sma", "length": "$fast"},
                                {"ind": "sma", "length": "$slow"}]},
    "exit": {"crosses_below": [{"ind": "sma", "length": "$fast"},
                               {"ind": "sma", "length": "$slow"}]}}


class VersionedReader(MemoryReader):
    """A MemoryReader that names each object's content (as S3's ETag does) and counts
    reads."""

    def __init__(self, objects: dict[str, bytes], source: str | None = None):
        super().__init__(objects, source)
        self.reads = 0
        self.revision = 0

    def get(self, key: str) -> bytes | None:
        self.reads += 1
        return super().get(key)

    def version(self, key: str) -> str | None:
        return None if key not in self.objects else f"mem://{key}#{self.revision}"


def _layout(seed: int, periods: int = 24 * 120) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, periods)))
    df = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=periods, freq="h",
                                                  tz="UTC"),
                       "open": close, "high": close * 1.01, "low": close * 0.99,
                       "close": close, "volume": rng.uniform(1, 10, periods)})
    return to_parquet_layout(df, "BTC_KRW", "1h")


@pytest.fixture(autouse=True)
def cold() -> Iterator[None]:
    warm.clear()
    yield
    warm.clear()


def _load(reader, start=date(2024, 1, 1), end=date(2024, 3, 31)):
    return load_symbol(reader, "BTC_KRW", "1h", start, end)


# --- ByteLru ---------------------------------------------------------------------------------

def test_given_the_same_key_then_a_hit_and_a_bound_in_bytes_drops_the_least_recent():
    lru: ByteLru = ByteLru(10)
    lru.put("a", "A", 4)
    lru.put("b", "B", 4)
    assert lru.get("a") == "A"  # a is now the most recent
    lru.put("c", "C", 4)  # 12 bytes > 10: b goes
    assert lru.get("b") is None and lru.get("a") == "A" and lru.get("c") == "C"
    assert lru.size_bytes == 8 and len(lru) == 2
    assert (lru.stats.hits, lru.stats.misses, lru.stats.evictions) == (3, 1, 1)


def test_given_a_value_larger_than_the_bound_or_a_zero_bound_then_nothing_is_kept():
    lru: ByteLru = ByteLru(3)
    lru.put("big", "x", 4)
    assert lru.get("big") is None and lru.size_bytes == 0
    off: ByteLru = ByteLru(0)
    off.put("k", "v", 1)
    assert off.get("k") is None


def test_given_a_key_put_again_then_its_size_is_replaced_not_added():
    lru: ByteLru = ByteLru(10)
    lru.put("k", "old", 6)
    lru.put("k", "new", 6)
    assert lru.get("k") == "new" and lru.size_bytes == 6


# --- candle files ------------------------------------------------------------------------------

def test_given_a_versioned_reader_when_loaded_twice_then_the_file_is_read_once():
    reader = VersionedReader(_layout(1), source="demo")
    first = _load(reader)
    second = _load(reader)
    assert reader.reads == 1 and warm.CANDLE_FILES.stats.hits == 1
    assert np.array_equal(first.candles.close, second.candles.close)
    assert second.source == first.source == "demo"
    assert first.identity == second.identity is not None


def test_given_a_rewritten_object_then_its_new_version_is_read_and_used():
    reader = VersionedReader(_layout(1))
    before = _load(reader)
    reader.objects.update(_layout(2))  # same key, other bytes: S3 gives another ETag
    reader.revision += 1
    after = _load(reader)
    assert reader.reads == 2
    assert not np.array_equal(before.candles.close, after.candles.close)
    assert np.array_equal(after.candles.close, _load(MemoryReader(_layout(2))).candles.close)
    assert before.identity != after.identity


def test_given_a_reader_without_versions_then_every_load_reads_and_has_no_identity():
    reader = MemoryReader(_layout(1))
    calls = []
    original = reader.get
    reader.get = lambda key: calls.append(key) or original(key)  # type: ignore[method-assign]
    assert _load(reader).identity is None and _load(reader).identity is None
    assert len(calls) == 2 and len(warm.CANDLE_FILES) == 0


def test_given_another_window_of_the_same_file_then_the_file_is_shared_not_the_identity():
    reader = VersionedReader(_layout(1))
    march = _load(reader, date(2024, 3, 1), date(2024, 3, 31))
    whole = _load(reader)
    assert reader.reads == 1
    assert march.identity != whole.identity
    assert len(march.candles) == 31 * 24 and len(whole.candles) == 91 * 24


def test_given_cached_candles_then_their_arrays_are_read_only():
    reader = VersionedReader(_layout(1))
    _load(reader)
    (part, _label), = [value for value, _ in warm.CANDLE_FILES._items.values()]
    with pytest.raises(ValueError):
        part.close[0] = 1.0


# --- indicators ---------------------------------------------------------------------------------

def _sma(cache: IndicatorCache, length: int) -> np.ndarray:
    return cache.indicator("sma", {"length": length}, '"close"',
                           lambda: cache.candles.close)["value"]


def test_given_the_same_identity_then_a_new_cache_is_answered_from_the_warm_store():
    data = _load(VersionedReader(_layout(1)))
    first = IndicatorCache(data.candles, data.identity)
    values = _sma(first, 10)
    again = IndicatorCache(data.candles, data.identity)
    assert _sma(again, 10) is values and again.computed == 0 and again.hits == 1
    assert _sma(again, 11) is not None and again.computed == 1  # other params: computed


def test_given_another_identity_or_none_then_indicators_are_computed_again():
    reader = VersionedReader(_layout(1))
    whole, march = _load(reader), _load(reader, date(2024, 3, 1), date(2024, 3, 31))
    _sma(IndicatorCache(whole.candles, whole.identity), 10)
    other = IndicatorCache(march.candles, march.identity)
    assert len(_sma(other, 10)) == len(march.candles) and other.computed == 1
    plain = IndicatorCache(whole.candles)
    _sma(plain, 10)
    assert plain.computed == 1


def test_given_a_small_bound_then_the_least_recent_indicators_are_evicted(monkeypatch):
    data = _load(VersionedReader(_layout(1)))
    one = len(data.candles) * 8  # bytes of one SMA output
    monkeypatch.setattr(warm, "INDICATORS", ByteLru(3 * one))
    cache = IndicatorCache(data.candles, data.identity)
    for length in (5, 6, 7, 8):
        _sma(cache, length)
    assert len(warm.INDICATORS) == 3 and warm.INDICATORS.stats.evictions == 1
    fresh = IndicatorCache(data.candles, data.identity)
    _sma(fresh, 5)  # evicted: computed again
    _sma(fresh, 8)  # kept: a hit
    assert fresh.computed == 1 and fresh.hits == 1


def test_given_two_shards_of_a_sweep_on_a_warm_process_then_the_second_computes_nothing():
    reader = VersionedReader(_layout(3))
    spec = RunSpec(strategy=None, definition=SMA_CROSS, symbols=["BTC_KRW"], timeframe="1h",
                   start_date=date(2024, 1, 1), end_date=date(2024, 3, 31), fee_bps=10.0)
    combos = [{"fast": f, "slow": s} for f in range(2, 8) for s in range(2, 8)]
    cold_doc = run_sweep_shard(spec, VersionedReader(_layout(3)), "BTC_KRW", combos)
    warm.clear()
    run_sweep_shard(spec, reader, "BTC_KRW", combos[:18])
    computed = warm.INDICATORS.stats.misses
    second = run_sweep_shard(spec, reader, "BTC_KRW", combos[18:])
    assert reader.reads == 1 and warm.INDICATORS.stats.misses == computed  # no new SMA
    assert second["entries"] == cold_doc["entries"][18:]
