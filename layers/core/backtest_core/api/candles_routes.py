"""GET /api/candles (docs/console.md): one symbol's OHLCV in a date window, merged for a chart.

Served by the candles function, which installs the engine's loader (``use_chart``: Parquet
needs the engine layer); the docs function includes the router for the OpenAPI document.
Unknown symbol or timeframe: 404 naming what the inventory holds (docs/console.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Annotated, Any

import orjson
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel, Field

from backtest_contract.market import SYMBOL_PATTERN, TIMEFRAMES, normalize_symbol
from backtest_core import aws
from backtest_core.api.data_routes import data_store
from backtest_core.api.resolver import responses
from backtest_core.datastore import inventory
from backtest_core.engine_port import CandleSource
from backtest_core.errors import CandlesNotFound, ValidationFailed
from backtest_core.models import Day
from backtest_core.settings import settings
from backtest_core.storage import S3CandleReader

# (reader, symbol, timeframe, start, end, max_points) → the view as a dict, or None when
# nothing is stored for the symbol at the timeframe (backtest_engine.adapter.Engine).
ChartLoader = Callable[[CandleSource, str, str, date, date, int], dict[str, Any] | None]
MAX_POINTS_DEFAULT = 1500

candles_router = Router()
_LOADER: list[ChartLoader] = []


def use_chart(loader: ChartLoader) -> None:
    """Install the candle loader (called once by the candles function at cold start)."""
    _LOADER[:] = [loader]


@cache
def candle_reader() -> S3CandleReader:
    """The bucket's data prefix as the engine reads it (built once, at the first request)."""
    cfg = settings()
    return S3CandleReader(aws.client("s3"), cfg.bucket, cfg.data_prefix)


class CandlesView(BaseModel):
    """Column arrays of equal length, one entry per bucket (``bucket_bars`` bars each; the
    last bucket may hold fewer). Prices in the symbol's quote currency, volume in its base
    currency."""

    symbol: str = Field(examples=["BTC_KRW"])
    timeframe: str = Field(examples=["1h"])
    bucket_bars: int = Field(ge=1, description="bars merged into one point (1 = raw bars)")
    t: list[str] = Field(description="open time of each bucket's first bar, ISO 8601 UTC")
    open: list[float] = Field(description="first bar's open")
    high: list[float] = Field(description="highest high of the bucket")
    low: list[float] = Field(description="lowest low of the bucket")
    close: list[float] = Field(description="last bar's close")
    volume: list[float] = Field(description="summed volume of the bucket")


@candles_router.get(
    "/api/candles", summary="One symbol's candles for a chart (merged to at most max_points)",
    tags=["data"], responses=responses(CandlesView, 401, 404, 500), compress=True,
)
def get_candles(
    symbol: Annotated[str, Query(pattern=SYMBOL_PATTERN, examples=["BTC_KRW"])],
    timeframe: Annotated[str, Query(pattern=f"^({'|'.join(TIMEFRAMES)})$", examples=["1h"])],
    start_date: Annotated[Day, Query(description="first day, YYYY-MM-DD (UTC)",
                                               examples=["2024-01-01"])],
    end_date: Annotated[Day, Query(description="last day, included whole, YYYY-MM-DD (UTC)",
                                             examples=["2024-01-31"])],
    max_points: Annotated[int, Query(ge=100, le=5000, description="most points returned")] = (
        MAX_POINTS_DEFAULT),
) -> Response[Any]:
    if end_date < start_date:
        raise ValidationFailed.single(["query", "end_date"],
                                      "start_date must be before or equal to end_date")
    canonical = normalize_symbol(symbol)
    view = _LOADER[0](candle_reader(), canonical, timeframe, start_date, end_date, max_points)
    if view is None:
        raise _not_found(canonical, timeframe)
    return Response(200, "application/json", orjson.dumps(view).decode())


def _not_found(symbol: str, timeframe: str) -> CandlesNotFound:
    """What the inventory has: the symbol's timeframes, or the symbols stored at all."""
    items = inventory(data_store()).items
    timeframes = [i.timeframe for i in items if i.symbol == symbol]
    if timeframes:
        return CandlesNotFound(f"No candles for {symbol} at timeframe {timeframe}; the "
                               f"inventory has {symbol} at: {', '.join(timeframes)}")
    symbols = sorted({i.symbol for i in items})
    return CandlesNotFound(f"Unknown symbol {symbol}; the inventory has: "
                           f"{', '.join(symbols) or 'no data at all'}")
