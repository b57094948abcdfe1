"""Symbols and timeframes (docs/contracts.md): canonical forms, accepted aliases, layout names.

Errors are ``ValueError`` naming the value (quoted, at most 200 characters); the API
reports them as 422, the engine wraps them in its ``ParamsError``.
"""

from __future__ import annotations

import re

from backtest_contract.quoting import quote

# Every accepted spelling, ASCII only (the OpenAPI pattern of a symbol): BASE_QUOTE,
# BASE/QUOTE, QUOTE-BASE (Upbit), any case.
SYMBOL_PATTERN = r"^([A-Za-z0-9]{1,15}[_/][A-Za-z0-9]{1,10}|[A-Za-z0-9]{1,10}-[A-Za-z0-9]{1,15})$"
_ACCEPTED = re.compile(SYMBOL_PATTERN)
TIMEFRAME_SECONDS: dict[str, int] = {
    "1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800,
    "1h": 3600, "4h": 14400, "1d": 86400, "1w": 604800,
}
"""Canonical timeframes and their bar length in seconds."""
TIMEFRAMES = tuple(TIMEFRAME_SECONDS)
# Older data layout: upper case, where "1M" is one minute (never one month).
_LEGACY_TIMEFRAMES = {tf.upper(): tf for tf in TIMEFRAMES}
ACCEPTED_TIMEFRAMES = (*TIMEFRAMES, *_LEGACY_TIMEFRAMES)


def normalize_symbol(raw: str) -> str:
    """``btc_krw``, ``KRW-BTC`` (Upbit: QUOTE-BASE), ``BTC/KRW`` → ``BTC_KRW``.

    >>> [normalize_symbol(s) for s in ("BTC_KRW", "KRW-BTC", "btc/krw", "btc_krw")]
    ['BTC_KRW', 'BTC_KRW', 'BTC_KRW', 'BTC_KRW']

    Raises ValueError naming the symbol when it fits none of the accepted forms
    (``SYMBOL_PATTERN``).
    """
    if not isinstance(raw, str) or not _ACCEPTED.fullmatch(raw):
        raise ValueError(
            f"invalid symbol {quote(raw)}: expected BASE_QUOTE like BTC_KRW (also KRW-BTC, BTC/KRW)"
        )
    text = raw.upper()
    if "/" in text:
        base, _, quote_ccy = text.partition("/")
        text = f"{base}_{quote_ccy}"
    elif "-" in text:
        quote_ccy, _, base = text.partition("-")
        text = f"{base}_{quote_ccy}"
    return text  # canonical: SYMBOL_PATTERN admits nothing else


def normalize_timeframe(raw: str) -> str:
    """``1d``/``1D`` → ``1d``; ``1M`` is one minute (older layout). ValueError otherwise."""
    if raw in TIMEFRAME_SECONDS:
        return raw
    if raw in _LEGACY_TIMEFRAMES:
        return _LEGACY_TIMEFRAMES[raw]
    raise ValueError(f"invalid timeframe {quote(raw)}: expected one of {', '.join(TIMEFRAMES)}")


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
    base, quote_ccy = normalize_symbol(symbol).split("_")
    names = [f"{base}_{quote_ccy}", f"{quote_ccy}-{base}"]
    return names + [name.lower() for name in names]
