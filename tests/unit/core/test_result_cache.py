"""The in-memory cache of completed result documents (immutable per key)."""

from backtest_core.storage import _BytesLru


def test_given_a_byte_bound_when_full_then_the_least_recently_read_is_dropped():
    lru = _BytesLru(10)
    lru.put("a", b"1234")
    lru.put("b", b"5678")
    assert lru.get("a") == b"1234"  # a is now the most recent
    lru.put("c", b"90ab")  # 12 bytes > 10: b goes
    assert lru.get("b") is None and lru.get("a") == b"1234" and lru.get("c") == b"90ab"


def test_given_an_object_larger_than_the_bound_then_it_is_not_kept():
    lru = _BytesLru(3)
    lru.put("big", b"1234")
    assert lru.get("big") is None


def test_given_the_same_key_twice_then_the_first_value_stays():
    lru = _BytesLru(100)
    lru.put("k", b"first")
    lru.put("k", b"second")
    assert lru.get("k") == b"first"
