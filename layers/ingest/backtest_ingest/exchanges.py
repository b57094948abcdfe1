"""One exchange through ccxt: markets, one page of candles, retries with backoff.

Paging differs per exchange (``EXCHANGES``): Upbit and Bithumb (whose ccxt client uses
Bithumb's Upbit-shaped v1 API) answer the ``count`` (≤ 200) newest candles *before* ``to``,
so history is read backwards, passing ``to`` explicitly; Binance answers up to 1,000
candles *from* ``startTime`` (ccxt's ``since``), so it is read forwards.

ccxt's own rate limiter is on (``enableRateLimit``); on top of it, network errors, 429
and 5xx answers (ccxt's ``NetworkError`` family) are retried with exponential backoff
(tenacity) up to ``RetryPolicy.max_retries`` times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import ccxt
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from backtest_ingest.errors import ExchangeUnreachable, IngestError, UnknownMarket

Row = list[float]  # [open time ms, open, high, low, close, volume]


@dataclass(frozen=True)
class ExchangeSpec:
    page_limit: int  # candles per request, the exchange's maximum
    direction: Literal["backward", "forward"]


EXCHANGES: dict[str, ExchangeSpec] = {
    "upbit": ExchangeSpec(page_limit=200, direction="backward"),
    "bithumb": ExchangeSpec(page_limit=200, direction="backward"),
    "binance": ExchangeSpec(page_limit=1000, direction="forward"),
}


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts = 1 + max_retries; waits backoff_s · 2^n, capped at max_backoff_s."""

    max_retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0


class ExchangeClient:
    """A ccxt exchange with the request pattern this project needs. ``requests`` counts
    HTTP calls made (retries included)."""

    def __init__(self, name: str, api_base: str | None = None,
                 retry: RetryPolicy = RetryPolicy(), timeout_ms: int = 10_000,
                 sleep: Callable[[float], None] = time.sleep):
        if name not in EXCHANGES:
            raise IngestError(f"unknown exchange {name!r}: use one of {', '.join(EXCHANGES)}")
        self.name = name
        self.spec = EXCHANGES[name]
        self.exchange: Any = getattr(ccxt, name)({"enableRateLimit": True, "timeout": timeout_ms})
        if api_base:
            self.exchange.urls["api"] = rebase_urls(self.exchange.urls["api"], api_base)
        hostname = str(getattr(self.exchange, "hostname", None) or "")
        self.base_url = api_base or _first_url(self.exchange.urls["api"]).replace(
            "{hostname}", hostname)
        self.retry = retry
        self.requests = 0
        self._sleep = sleep

    def load_markets(self) -> None:
        """Load the market list (the first request: an unreachable exchange fails here)."""
        self._call(self.exchange.load_markets)

    def market(self, symbol: str) -> str:
        """ccxt's ``BASE/QUOTE`` market for a canonical symbol ``BASE_QUOTE``."""
        base, quote = symbol.split("_")
        market = f"{base}/{quote}"
        if market not in self.exchange.markets:
            raise UnknownMarket(f"{self.name} has no market {symbol} ({market})")
        return market

    def market_id(self, market: str) -> str:
        """The exchange's own id of a market, e.g. ``KRW-BTC`` on Upbit."""
        return str(self.exchange.market(market)["id"])

    def check_timeframe(self, timeframe: str) -> None:
        if timeframe not in (self.exchange.timeframes or {}):
            raise IngestError(f"{self.name} has no {timeframe} candles")

    def page_before(self, market: str, timeframe: str, before_ms: int) -> list[Row]:
        """Up to ``page_limit`` candles opening before ``before_ms`` (Upbit's ``to``)."""
        to = self.exchange.iso8601(before_ms)
        return self._call(self.exchange.fetch_ohlcv, market, timeframe, None,
                          self.spec.page_limit, {"to": to})

    def page_from(self, market: str, timeframe: str, since_ms: int) -> list[Row]:
        """Up to ``page_limit`` candles opening at or after ``since_ms``."""
        return self._call(self.exchange.fetch_ohlcv, market, timeframe, since_ms,
                          self.spec.page_limit)

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        retrying = Retrying(
            retry=retry_if_exception_type(ccxt.NetworkError),
            stop=stop_after_attempt(self.retry.max_retries + 1),
            wait=wait_exponential(multiplier=self.retry.backoff_s, max=self.retry.max_backoff_s),
            sleep=self._sleep, reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self.requests += 1
                    return _rate_limit_as_network_error(fn, *args)
        except ccxt.NetworkError as exc:
            attempts = self.retry.max_retries + 1
            raise ExchangeUnreachable(
                f"cannot reach {self.name} at {self.base_url} after {attempts} attempt(s): "
                f"{type(exc).__name__}: {_short(exc)}") from None
        except ccxt.BadSymbol as exc:
            raise UnknownMarket(f"{self.name}: {_short(exc)}") from None
        except ccxt.BaseError as exc:
            raise IngestError(f"{self.name} refused the request: {type(exc).__name__}: "
                              f"{_short(exc)}") from None
        raise AssertionError("unreachable")  # pragma: no cover - Retrying returns or raises


def _rate_limit_as_network_error(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``; a 429 whose JSON body ccxt turned into a plain ExchangeError (Upbit:
    ``{"error": {"name": "too_many_requests"}}``, raised before the status is looked at)
    becomes RateLimitExceeded, a NetworkError, so it is backed off and retried like any
    429 (docs/data.md)."""
    try:
        return fn(*args)
    except ccxt.ExchangeError as exc:
        if not isinstance(exc, ccxt.NetworkError) and "too_many_requests" in str(exc):
            raise ccxt.RateLimitExceeded(str(exc)) from exc
        raise


def rebase_urls(urls: Any, api_base: str) -> Any:
    """Replace scheme and host of every REST URL with ``api_base``, keeping each path.

    >>> rebase_urls({"public": "https://api.binance.com/api/v3"}, "http://127.0.0.1:9")
    {'public': 'http://127.0.0.1:9/api/v3'}
    """
    if not api_base.startswith(("http://", "https://")):
        raise IngestError(f"--api-base {api_base!r}: give an http:// or https:// URL")
    base = api_base.rstrip("/")
    if isinstance(urls, dict):
        return {key: rebase_urls(value, api_base) for key, value in urls.items()}
    if isinstance(urls, str):
        return base + urlsplit(urls.replace("{hostname}", "host")).path
    return urls


def _first_url(urls: Any) -> str:
    if isinstance(urls, dict):
        return _first_url(next(iter(urls.values()), ""))
    return str(urls)


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
