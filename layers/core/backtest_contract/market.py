"""Symbols and timeframes (SPEC §1): canonical forms, accepted aliases, layout names.

Errors are ``ValueError`` naming the value; the API reports them as 422, the engine wraps
them in its ``ParamsError``.
"""

from __future__ import annotations

import re

_CANONICAL = re.compile(r"^([A-Z0-9]{1,15})_([A-Z0-9]{1,10})$")
_UPBIT = re.compile(r"^([A-Z0-9]{1,10})-([A-Z0-9]{1,15})$")  # QUOTE-BASE
_CCXT = re.compile(r"^([A-Z0-9]{1,15})/([A-Z0-9]{1,10})$")  # BASE/QUOTE

TIMEFRAME_SECONDS: dict[str, int] = {
    "1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800,
    "1h": 3600, "4h": 14400, "1d": 86400, "1w": 604800,
}
"""Canonical timeframes and their bar length in seconds."""
TIMEFRAMES = tuple(TIMEFRAME_SECONDS)


def normalize_symbol(symbol: object) -> str:
    """Canonical ``BASE_QUOTE`` for any accepted spelling.

    >>> [normalize_symbol(s) for s in ("BTC_KRW", "KRW-BTC", "btc/krw", "btc_krw")]
    ['BTC_KRW', 'BTC_KRW', 'BTC_KRW', 'BTC_KRW']

    Raises ValueError naming the symbol for anything else.
    """
    text = symbol.strip().upper() if isinstance(symbol, str) else ""
    if m := _CANONICAL.match(text):
        return f"{m.group(1)}_{m.group(2)}"
    if m := _CCXT.match(text):
        return f"{m.group(1)}_{m.group(2)}"
    if m := _UPBIT.match(text):
        return f"{m.group(2)}_{m.group(1)}"
    raise ValueError(
        f"Invalid symbol {symbol!r}: use BASE_QUOTE (BTC_KRW), QUOTE-BASE (KRW-BTC) or BASE/QUOTE"
    )


def normalize_timeframe(timeframe: object) -> str:
    """Canonical timeframe (``1m 3m 5m 15m 30m 1h 4h 1d 1w``).

    Upper-case forms of the older layout are accepted: ``1D`` → ``1d``, ``5M`` → ``5m``;
    ``1M`` is one minute (there is no month timeframe). ValueError naming the value otherwise.
    """
    text = timeframe.strip().lower() if isinstance(timeframe, str) else ""
    if text in TIMEFRAME_SECONDS:
        return text
    raise ValueError(f"Invalid timeframe {timeframe!r}: use one of {', '.join(TIMEFRAMES)}")


def timeframe_seconds(timeframe: str) -> int:
    """Bar length in seconds of a (any accepted form) timeframe, e.g. ``"1d"`` → 86400."""
    return TIMEFRAME_SECONDS[normalize_timeframe(timeframe)]


def timeframe_dir(timeframe: str) -> str:
    """Directory name of the storage layout: ``"1d"`` → ``"1D"``, ``"5m"`` → ``"5M"``."""
    return normalize_timeframe(timeframe).upper()


def symbol_dirs(symbol: str) -> list[str]:
    """Directory names under which a canonical symbol's candles may be stored, best first.

    >>> symbol_dirs("BTC_KRW")
    ['BTC_KRW', 'KRW-BTC', 'btc_krw', 'krw-btc']
    """
    base, quote = normalize_symbol(symbol).split("_")
    names = [f"{base}_{quote}", f"{quote}-{base}"]
    return names + [name.lower() for name in names]
