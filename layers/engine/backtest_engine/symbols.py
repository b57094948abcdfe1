"""Symbols and timeframes for the engine: the shared contract (``backtest_contract.market``)
with its ``ValueError`` turned into the engine's ``ParamsError`` (loc ``symbol`` /
``timeframe``)."""

from __future__ import annotations

from backtest_contract import market
from backtest_contract.market import TIMEFRAME_SECONDS, symbol_dirs

from .errors import ParamsError

__all__ = ["TIMEFRAME_SECONDS", "normalize_symbol", "normalize_timeframe", "symbol_dirs",
           "timeframe_dir", "timeframe_seconds"]


def normalize_symbol(symbol: object) -> str:
    """Canonical ``BASE_QUOTE`` (``KRW-BTC``, `` btc/krw`` → ``BTC_KRW``: the engine's own
    inputs, CSV names and CLI flags, may carry spaces); ParamsError else."""
    try:
        return market.normalize_symbol(symbol.strip() if isinstance(symbol, str) else symbol)
    except ValueError as exc:
        raise ParamsError.single(["symbol"], str(exc)) from None


def normalize_timeframe(timeframe: object) -> str:
    """Canonical timeframe (``1D`` → ``1d``; ``1M`` is one minute); ParamsError else."""
    try:
        return market.normalize_timeframe(
            timeframe.strip() if isinstance(timeframe, str) else timeframe)
    except ValueError as exc:
        raise ParamsError.single(["timeframe"], str(exc)) from None


def timeframe_seconds(timeframe: str) -> int:
    """Bar length in seconds, e.g. ``"1d"`` → 86400."""
    return TIMEFRAME_SECONDS[normalize_timeframe(timeframe)]


def timeframe_dir(timeframe: str) -> str:
    """Directory name of the storage layout: ``"1d"`` → ``"1D"``."""
    return normalize_timeframe(timeframe).upper()
