"""The indicators a rule document may use: names, arguments, defaults, bounds, outputs.

Pure data (no pydantic models): the contract's validators and the engine's TA-Lib layer
both read this one table, so a name or a default cannot drift between them. The TA-Lib
function each indicator maps to is documented in docs/rules.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ArgKind = Literal["source", "int", "float", "bool"]
MAX_LENGTH = 5000
"""Largest length, window, shift or ``held`` bar count (also after ``$`` substitution)."""


@dataclass(frozen=True)
class ArgSpec:
    """One indicator argument. ``default`` None means required; bounds are inclusive
    unless ``exclusive_min`` (a ``source`` has no bounds; its default is a price field)."""

    kind: ArgKind
    default: int | float | bool | str | None = None
    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False

    def bounds_text(self) -> str:
        """``between 2 and 5000`` / ``greater than 0 and at most 1``."""
        if self.exclusive_min:
            return f"greater than {_num(self.min)} and at most {_num(self.max)}"
        return f"between {_num(self.min)} and {_num(self.max)}"

    def accepts(self, value: float) -> bool:
        """Whether the (resolved) numeric ``value`` lies within the bounds."""
        if self.min is not None and (value <= self.min if self.exclusive_min else value < self.min):
            return False
        return self.max is None or value <= self.max


def _num(x: float | None) -> str:
    return "" if x is None else (str(int(x)) if float(x).is_integer() else str(x))


def _length(default: int | None = None, low: int = 1) -> ArgSpec:
    # TA-Lib refuses a period of 1 for some functions (TA_BAD_PARAM): those start at 2.
    return ArgSpec("int", default, low, MAX_LENGTH)


@dataclass(frozen=True)
class IndicatorSpec:
    """An indicator: its arguments in order and its outputs (the first is the default)."""

    name: str
    args: dict[str, ArgSpec]
    outputs: tuple[str, ...] = ("value",)
    talib: str = ""
    notes: str = field(default="", compare=False)


def _source(default: str = "close") -> ArgSpec:
    return ArgSpec("source", default)


INDICATORS: dict[str, IndicatorSpec] = {spec.name: spec for spec in sorted((
    IndicatorSpec("sma", {"source": _source(), "length": _length()}, talib="SMA"),
    IndicatorSpec("ema", {"source": _source(), "length": _length()}, talib="EMA"),
    IndicatorSpec("wma", {"source": _source(), "length": _length()}, talib="WMA"),
    IndicatorSpec("rsi", {"source": _source(), "length": _length(14, 2)}, talib="RSI"),
    IndicatorSpec("roc", {"source": _source(), "length": _length(10)}, talib="ROC"),
    IndicatorSpec("stddev", {"source": _source(), "length": _length(None, 2)},
                  talib="STDDEV(nbdev=1)"),
    IndicatorSpec("zscore", {"source": _source(), "length": _length(None, 2)},
                  talib="(source - SMA) / STDDEV"),
    IndicatorSpec("highest", {"source": _source("high"), "length": _length(None, 2)},
                  talib="MAX"),
    IndicatorSpec("lowest", {"source": _source("low"), "length": _length(None, 2)},
                  talib="MIN"),
    IndicatorSpec("bbands", {"source": _source(), "length": _length(20, 2),
                             "mult": ArgSpec("float", 2.0, 0, 100)},
                  ("middle", "upper", "lower"), talib="BBANDS(matype=0)"),
    IndicatorSpec("macd", {"source": _source(), "fast": _length(12, 2),
                           "slow": _length(26, 2), "signal": _length(9)},
                  ("macd", "signal", "hist"), talib="MACD"),
    IndicatorSpec("atr", {"length": _length(14)}, talib="ATR"),
    IndicatorSpec("adx", {"length": _length(14, 2)}, talib="ADX"),
    IndicatorSpec("stoch", {"k": _length(14), "smooth_k": _length(3), "d": _length(3)},
                  ("k", "d"), talib="STOCH(slowk_matype=0, slowd_matype=0)"),
    IndicatorSpec("obv", {}, talib="OBV(close, volume)"),
    IndicatorSpec("volume_profile", {
        "window": _length(10), "top_percentile": ArgSpec("float", 0.2, 0, 1, exclusive_min=True),
        "num_bins": ArgSpec("int", 20, 1, 200), "include_wicks": ArgSpec("bool", True)},
        ("resistance",), talib="volume-profile resistance (not TA-Lib)"),
), key=lambda s: s.name)}
"""Every indicator by name, sorted by name."""

PRICE_FIELDS = ("open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4")
"""Price operands: the bar's columns and hl2 = (h+l)/2, hlc3 = (h+l+c)/3, ohlc4 = (o+h+l+c)/4."""
