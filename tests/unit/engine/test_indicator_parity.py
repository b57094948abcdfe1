"""Every indicator of docs/rules.md equals the TA-Lib wrapper on real candles (the shipped
BTC_KRW daily sample) to 1e-9 relative, NaN exactly where TA-Lib gives NaN; and
``volume_profile`` is the volume_zone_breakout built-in's resistance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from backtest_contract.rules import INDICATORS, parse_rule_document
from backtest_contract.strategies import VolumeZoneBreakoutParams
from backtest_engine.candles import Candles
from backtest_engine.indicators import IndicatorCache, compute
from backtest_engine.strategies import volume_zone_breakout
from backtest_engine.strategies.rules import evaluate_rules

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "data" / "BTC_KRW-1d.csv"


@pytest.fixture(scope="module")
def bars() -> Candles:
    df = pd.read_csv(SAMPLE)
    ts = pd.to_datetime(df["timestamp"], utc=True).dt.tz_localize(None).dt.as_unit("ns")
    return Candles(ts.to_numpy().view("int64").copy(),
                   *(df[c].to_numpy(dtype=float) for c in ["open", "high", "low", "close",
                                                            "volume"]))


def _talib(name: str, a: dict, c: Candles) -> dict[str, np.ndarray]:
    s = c.close
    direct = {
        "sma": lambda: {"value": talib.SMA(s, timeperiod=a["length"])},
        "ema": lambda: {"value": talib.EMA(s, timeperiod=a["length"])},
        "wma": lambda: {"value": talib.WMA(s, timeperiod=a["length"])},
        "rsi": lambda: {"value": talib.RSI(s, timeperiod=a["length"])},
        "roc": lambda: {"value": talib.ROC(s, timeperiod=a["length"])},
        "stddev": lambda: {"value": talib.STDDEV(s, timeperiod=a["length"], nbdev=1)},
        "zscore": lambda: {"value": (s - talib.SMA(s, timeperiod=a["length"]))
                           / talib.STDDEV(s, timeperiod=a["length"], nbdev=1)},
        "highest": lambda: {"value": talib.MAX(c.high, timeperiod=a["length"])},
        "lowest": lambda: {"value": talib.MIN(c.low, timeperiod=a["length"])},
        "bbands": lambda: dict(zip(("upper", "middle", "lower"), talib.BBANDS(
            s, timeperiod=a["length"], nbdevup=a["mult"], nbdevdn=a["mult"], matype=0),
            strict=True)),
        "macd": lambda: dict(zip(("macd", "signal", "hist"), talib.MACD(
            s, fastperiod=a["fast"], slowperiod=a["slow"], signalperiod=a["signal"]),
            strict=True)),
        "atr": lambda: {"value": talib.ATR(c.high, c.low, c.close, timeperiod=a["length"])},
        "adx": lambda: {"value": talib.ADX(c.high, c.low, c.close, timeperiod=a["length"])},
        "stoch": lambda: dict(zip(("k", "d"), talib.STOCH(
            c.high, c.low, c.close, fastk_period=a["k"], slowk_period=a["smooth_k"],
            slowk_matype=0, slowd_period=a["d"], slowd_matype=0), strict=True)),
        "obv": lambda: {"value": talib.OBV(c.close, c.volume)},
    }
    return direct[name]()


ARGS = {"sma": {"length": 20}, "ema": {"length": 12}, "wma": {"length": 9},
        "rsi": {"length": 14}, "roc": {"length": 10}, "stddev": {"length": 20},
        "zscore": {"length": 20}, "highest": {"length": 20}, "lowest": {"length": 20},
        "bbands": {"length": 20, "mult": 2.0}, "macd": {"fast": 12, "slow": 26, "signal": 9},
        "atr": {"length": 14}, "adx": {"length": 14},
        "stoch": {"k": 14, "smooth_k": 3, "d": 3}, "obv": {}}


def test_the_parity_table_covers_every_indicator_but_the_volume_profile():
    assert set(ARGS) == set(INDICATORS) - {"volume_profile"}


@pytest.mark.parametrize("name", sorted(ARGS))
def test_given_real_candles_when_computed_then_equal_to_talib_to_1e9(bars, name):
    spec = INDICATORS[name]
    source = {"source": "high" if name == "highest" else "low" if name == "lowest" else None}
    column = source["source"] or "close"
    ours = compute(name, ARGS[name], getattr(bars, column) if "source" in spec.args else None,
                   bars)
    theirs = _talib(name, ARGS[name], bars)
    assert set(ours) == set(spec.outputs) == set(theirs)
    for output, expected in theirs.items():
        got = ours[output]
        assert got.shape == (len(bars),)
        assert np.array_equal(np.isnan(got), np.isnan(expected)), output
        assert np.isnan(got).sum() < len(bars)  # a real warm-up, then values
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0, equal_nan=True)


def test_given_a_computed_source_with_leading_nans_then_skipped_as_talib_does(bars):
    doc = parse_rule_document({"name": "ema_of_sma", "entry": {"gt": [
        {"ind": "ema", "length": 5, "source": {"ind": "sma", "length": 10}}, 0]}})
    cache = IndicatorCache(bars)
    evaluate_rules(doc, {}, bars, cache)
    got = next(o["value"] for k, o in cache._outputs.items() if k[0] == "ema")
    expected = talib.EMA(talib.SMA(bars.close, timeperiod=10), timeperiod=5)
    np.testing.assert_allclose(got, expected, rtol=1e-9, equal_nan=True)
    assert np.isnan(got[:13]).all() and not np.isnan(got[13])


@pytest.mark.parametrize(("window", "p", "bins", "wicks"), [(10, 0.2, 20, True),
                                                             (5, 0.5, 7, False)])
def test_given_volume_profile_then_the_rule_equals_the_builtin_breakout_with_no_buffer(
        bars, window, p, bins, wicks):
    doc = parse_rule_document({"name": "vp_rule", "entry": {"gte": [
        {"price": "high"}, {"mul": [{"ind": "volume_profile", "window": window,
                                     "top_percentile": p, "num_bins": bins,
                                     "include_wicks": wicks}, 1.0]}]}})
    masks = evaluate_rules(doc, {}, bars, IndicatorCache(bars))
    params = VolumeZoneBreakoutParams(volume_window=window, top_percentile=p, num_bins=bins,
                                      include_wicks=wicks, breakout_buffer=0.0)
    builtin = volume_zone_breakout.generate(bars, params, lambda _n: None)
    assert masks.entry.tolist() == builtin.entry.tolist()
    assert masks.entry.sum() > 0
