"""GET /api/data/inventory (docs/data.md): which symbols, timeframes and dates are stored.

Served by the data function; the docs function includes the router for the OpenAPI document.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.router import Router

from backtest_core import aws
from backtest_core.api.resolver import responses
from backtest_core.datastore import DataStore, S3DataStore, inventory
from backtest_core.inventory import InventoryView
from backtest_core.settings import settings

data_router = Router()


@cache
def data_store() -> S3DataStore:
    """The bucket's data prefix (built once per process, at the first request)."""
    cfg = settings()
    return S3DataStore(aws.client("s3"), cfg.bucket, cfg.data_prefix)


@data_router.get("/api/data/inventory", summary="Stored market data: symbols, timeframes, dates",
                 tags=["data"], responses=responses(InventoryView, 401, 500))
def get_inventory(store: Annotated[DataStore, Depends(data_store)]) -> InventoryView:
    return inventory(store)
