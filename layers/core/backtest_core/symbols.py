"""Symbol and timeframe normalisation at the API edge (SPEC §1).

The engine has its own copy for its CLI; the API normalises before a task is stored, so
the worker always receives canonical values.
"""

from __future__ import annotations

import re

_CANONICAL = re.compile(r"^[A-Z0-9]{1,15}_[A-Z0-9]{1,10}$")
TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")
TIMEFRAME_SECONDS = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800,
                     "1h": 3600, "4h": 14400, "1d": 86400, "1w": 604800}
# Older data layout: upper case, where "1M" is one minute (never one month).
_LEGACY_TIMEFRAMES = {tf.upper(): tf for tf in TIMEFRAMES}


def normalize_symbol(raw: str) -> str:
    """``btc_krw``, ``KRW-BTC`` (Upbit: QUOTE-BASE), ``BTC/KRW`` → ``BTC_KRW``.

    Raises ValueError naming the symbol when it fits none of the accepted forms.
    """
    text = raw.strip().upper()
    if "/" in text:
        base, _, quote = text.partition("/")
        text = f"{base}_{quote}"
    elif "-" in text:
        quote, _, base = text.partition("-")
        text = f"{base}_{quote}"
    if not _CANONICAL.match(text):
        raise ValueError(
            f"invalid symbol {raw!r}: expected BASE_QUOTE like BTC_KRW (also KRW-BTC, BTC/KRW)"
        )
    return text


def normalize_timeframe(raw: str) -> str:
    """``1d``/``1D`` → ``1d``; ``1M`` is one minute (older layout). ValueError otherwise."""
    text = raw.strip()
    if text in TIMEFRAMES:
        return text
    if text in _LEGACY_TIMEFRAMES:
        return _LEGACY_TIMEFRAMES[text]
    raise ValueError(f"invalid timeframe {raw!r}: expected one of {', '.join(TIMEFRAMES)}")
