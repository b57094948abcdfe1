"""Symbol and timeframe normalisation."""

import pytest

from backtest_engine import ParamsError, normalize_symbol, normalize_timeframe
from backtest_engine.symbols import symbol_dirs, timeframe_dir


@pytest.mark.parametrize("raw", ["BTC_KRW", "btc_krw", "KRW-BTC", "krw-btc", "BTC/KRW",
                                 " btc/krw "])
def test_given_accepted_spelling_when_normalising_then_canonical_symbol(raw):
    assert normalize_symbol(raw) == "BTC_KRW"


@pytest.mark.parametrize("raw", ["BTCKRW", "BTC__KRW", "BTC_KRW_X", "", "BTC-KRW-ETH",
                                 "ABCDEFGHIJKLMNOP_KRW", "BTC KRW", None, 7])
def test_given_invalid_symbol_when_normalising_then_error_names_it(raw):
    with pytest.raises(ParamsError) as info:
        normalize_symbol(raw)
    assert repr(raw) in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("raw", "canonical"), [
    ("1m", "1m"), ("1M", "1m"), ("5M", "5m"), ("15m", "15m"), ("1H", "1h"), ("4h", "4h"),
    ("1D", "1d"), ("1d", "1d"), ("1W", "1w")])
def test_given_timeframe_form_when_normalising_then_canonical(raw, canonical):
    assert normalize_timeframe(raw) == canonical


@pytest.mark.parametrize("raw", ["2h", "1mo", "day", "", None])
def test_given_unknown_timeframe_when_normalising_then_error_names_it(raw):
    with pytest.raises(ParamsError, match="(?i)invalid timeframe"):
        normalize_timeframe(raw)


def test_given_symbol_when_listing_storage_dirs_then_canonical_first_then_aliases():
    assert symbol_dirs("krw-btc") == ["BTC_KRW", "KRW-BTC", "btc_krw", "krw-btc"]
    assert timeframe_dir("1m") == "1M"
