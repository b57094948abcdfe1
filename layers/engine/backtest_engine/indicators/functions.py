"""The indicators of rule documents, computed with the ``ta-lib`` wrapper (TA-Lib C).

Each function takes the resolved arguments of ``backtest_contract.rules.INDICATORS`` and
returns every output of the indicator by name, each a float64 array as long as the
candles. Values equal the wrapper's on the same input (it skips a source's leading NaNs and
gives NaN where it has no value); see docs/rules.md for the table.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import talib

from ..candles import Candles
from ..strategies._profile import resistance_levels

Outputs = dict[str, np.ndarray]
Compute = Callable[[np.ndarray | None, Candles, dict], Outputs]


def _single(function: Callable[..., np.ndarray]) -> Compute:
    """One-output indicator of a source and ``length`` (SMA, EMA, WMA, RSI, ROC, MAX, MIN)."""
    return lambda source, _candles, a: {"value": function(source, timeperiod=a["length"])}


def _stddev(source, _candles, a) -> Outputs:
    return {"value": talib.STDDEV(source, timeperiod=a["length"], nbdev=1.0)}


def _zscore(source, _candles, a) -> Outputs:
    mean = talib.SMA(source, timeperiod=a["length"])
    deviation = talib.STDDEV(source, timeperiod=a["length"], nbdev=1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (source - mean) / deviation
    z[deviation == 0] = np.nan  # a flat window has no z-score (not ±inf)
    return {"value": z}


def _bbands(source, _candles, a) -> Outputs:
    upper, middle, lower = talib.BBANDS(source, timeperiod=a["length"], nbdevup=a["mult"],
                                        nbdevdn=a["mult"], matype=0)
    return {"middle": middle, "upper": upper, "lower": lower}


def _macd(source, _candles, a) -> Outputs:
    macd, signal, hist = talib.MACD(source, fastperiod=a["fast"], slowperiod=a["slow"],
                                    signalperiod=a["signal"])
    return {"macd": macd, "signal": signal, "hist": hist}


def _atr(_source, c: Candles, a) -> Outputs:
    return {"value": talib.ATR(c.high, c.low, c.close, timeperiod=a["length"])}


def _adx(_source, c: Candles, a) -> Outputs:
    return {"value": talib.ADX(c.high, c.low, c.close, timeperiod=a["length"])}


def _stoch(_source, c: Candles, a) -> Outputs:
    k, d = talib.STOCH(c.high, c.low, c.close, fastk_period=a["k"], slowk_period=a["smooth_k"],
                       slowk_matype=0, slowd_period=a["d"], slowd_matype=0)
    return {"k": k, "d": d}


def _obv(_source, c: Candles, _a) -> Outputs:
    return {"value": talib.OBV(c.close, c.volume)}


def _volume_profile(_source, c: Candles, a) -> Outputs:
    """The resistance R of the volume-zone strategy's steps 1-3 (the same kernel)."""
    if a["include_wicks"]:
        low, high = c.low, c.high
    else:
        low, high = np.minimum(c.open, c.close), np.maximum(c.open, c.close)
    return {"resistance": resistance_levels(low, high, c.volume, a["window"], a["num_bins"],
                                            a["top_percentile"])}


FUNCTIONS: dict[str, Compute] = {
    "sma": _single(talib.SMA), "ema": _single(talib.EMA), "wma": _single(talib.WMA),
    "rsi": _single(talib.RSI), "roc": _single(talib.ROC), "stddev": _stddev,
    "zscore": _zscore, "highest": _single(talib.MAX), "lowest": _single(talib.MIN),
    "bbands": _bbands, "macd": _macd, "atr": _atr, "adx": _adx, "stoch": _stoch,
    "obv": _obv, "volume_profile": _volume_profile,
}
"""Every indicator of the contract's table by name."""


def compute(name: str, args: dict, source: np.ndarray | None, candles: Candles) -> Outputs:
    """All outputs of indicator ``name`` with resolved ``args`` over ``source`` (the
    evaluated source operand; None for indicators of the bars themselves)."""
    if source is not None:
        source = np.ascontiguousarray(source, dtype=np.float64)
    if len(candles) == 0:
        empty = np.empty(0)
        return dict.fromkeys(_output_names(name), empty)
    return FUNCTIONS[name](source, candles, args)


def _output_names(name: str) -> tuple[str, ...]:
    from backtest_contract.rules import INDICATORS

    return INDICATORS[name].outputs
