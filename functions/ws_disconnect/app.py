"""WebSocket ``$disconnect``: forget the connection (also called after a server close)."""

from functools import cache

from backtest_core.live.settings import live_settings
from backtest_core.live.usecases import LiveServices, disconnect
from backtest_core.observability import logger


@cache
def services() -> LiveServices:
    """Built once, at the first invocation (cold start)."""
    return LiveServices.from_settings(live_settings())


@logger.inject_lambda_context
def lambda_handler(event: dict, context: object) -> dict:
    disconnect(event["requestContext"]["connectionId"], services())
    return {"statusCode": 200}
