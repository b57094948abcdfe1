"""Symbol and timeframe normalisation at the API edge (SPEC §1).

The engine has its own copy for its CLI; the API normalises before a task is stored, so
the worker always receives canonical values.
"""

from __future__ import annotations

import re

from backtest_core.quoting import quote

# Every accepted spelling, ASCII only (the OpenAPI pattern of a symbol): BASE_QUOTE,
# BASE/QUOTE, QUOTE-BASE (Upbit), any case.
SYMBOL_PATTERN = r"^([A-Za-z0-9]{1,15}[_/][A-Za-z0-9]{1,10}|[A-Za-z0-9]{1,10}-[A-Za-z0-9]{1,15})$"
_ACCEPTED = re.compile(SYMBOL_PATTERN)
TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")
TIMEFRAME_SECONDS = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800,
                     "1h": 3600, "4h": 14400, "1d": 86400, "1w": 604800}
# Older data layout: upper case, where "1M" is one minute (never one month).
_LEGACY_TIMEFRAMES = {tf.upper(): tf for tf in TIMEFRAMES}
ACCEPTED_TIMEFRAMES = (*TIMEFRAMES, *_LEGACY_TIMEFRAMES)


def normalize_symbol(raw: str) -> str:
    """``btc_krw``, ``KRW-BTC`` (Upbit: QUOTE-BASE), ``BTC/KRW`` → ``BTC_KRW``.

    Raises ValueError naming the symbol (its first 200 characters) when it fits none of the
    accepted forms (``SYMBOL_PATTERN``).
    """
    if not _ACCEPTED.fullmatch(raw):
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
    if raw in TIMEFRAMES:
        return raw
    if raw in _LEGACY_TIMEFRAMES:
        return _LEGACY_TIMEFRAMES[raw]
    raise ValueError(f"invalid timeframe {quote(raw)}: expected one of {', '.join(TIMEFRAMES)}")
