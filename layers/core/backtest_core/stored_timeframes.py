"""Fail early: a submit whose every symbol has no stored data at its timeframe is a 422.

Without this check such a task is queued, starts, and fails a moment later with "No data
found ... in range", which does not say that the data exists at another timeframe. The
submit functions have a 100 ms budget (docs/api.md), so the check reads one listing of the data
prefix (keys only: no manifest, no Parquet) and keeps it per container for ``ttl_s``.

The cached listing is trusted only to accept: a request it would reject is checked again
against a fresh listing, so data fetched a second ago is never refused. A request with at
least one symbol stored at the timeframe is accepted; the other symbols fail in the worker
with a reason that names the timeframe (``failed_symbols``).

    >>> index = StoredTimeframes(lambda: ["BTC_KRW/1H/2024.parquet", "KRW-ETH/1D/2024.parquet"])
    >>> index.timeframes(["BTC_KRW", "ETH_KRW", "XRP_KRW"])
    {'BTC_KRW': ['1h'], 'ETH_KRW': ['1d'], 'XRP_KRW': []}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from backtest_core.errors import ValidationFailed
from backtest_core.inventory import parse_layout_key, sort_timeframes

DEFAULT_TTL_S = 60.0  # a container accepts from a listing at most this old (seconds)


class StoredTimeframes:
    """symbol → stored timeframes, from ``list_keys()`` (every key under the data prefix,
    relative to it), cached for ``ttl_s`` seconds of ``clock`` (monotonic seconds)."""

    def __init__(self, list_keys: Callable[[], Iterable[str]], ttl_s: float = DEFAULT_TTL_S,
                 clock: Callable[[], float] = time.monotonic):
        self._list_keys = list_keys
        self._ttl_s = ttl_s
        self._clock = clock
        self._cached: dict[str, set[str]] | None = None
        self._listed_at = 0.0

    def check(self, symbols: list[str], timeframe: str) -> None:
        """Raise ValidationFailed (loc ``["body", "timeframe"]``, the stored timeframes of
        each symbol in the message) when no symbol of ``symbols`` (canonical names) has data
        at ``timeframe`` (canonical); return at once when one has."""
        if self._any_stored(self._listing(fresh=False), symbols, timeframe):
            return
        listing = self._listing(fresh=True)  # rejecting: never on a stale listing
        if self._any_stored(listing, symbols, timeframe):
            return
        stored = "; ".join(f"{s}: {', '.join(tfs) or 'none'}"
                           for s, tfs in self.timeframes(symbols, listing).items())
        raise ValidationFailed.single(
            ["body", "timeframe"],
            f"No stored data at timeframe {timeframe} for any requested symbol; stored "
            f"timeframes: {stored} (GET /api/data/inventory lists what is stored)",
            "data_missing")

    def timeframes(self, symbols: list[str], listing: dict[str, set[str]] | None = None
                   ) -> dict[str, list[str]]:
        """The stored timeframes of each of ``symbols``, shortest first."""
        listing = self._listing(fresh=False) if listing is None else listing
        return {s: sort_timeframes(listing.get(s, ())) for s in symbols}

    def _listing(self, fresh: bool) -> dict[str, set[str]]:
        now = self._clock()
        if fresh or self._cached is None or now - self._listed_at > self._ttl_s:
            by_symbol: dict[str, set[str]] = {}
            for key in self._list_keys():
                parsed = parse_layout_key(key)
                if parsed is not None:
                    by_symbol.setdefault(parsed[0], set()).add(parsed[1])
            self._cached, self._listed_at = by_symbol, now
        return self._cached

    @staticmethod
    def _any_stored(listing: dict[str, set[str]], symbols: list[str], timeframe: str) -> bool:
        return any(timeframe in listing.get(s, ()) for s in symbols)
