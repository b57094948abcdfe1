"""WebSocket ``$disconnect``: forget the connection (also called after a server close)."""

from backtest_core.live.settings import live_settings
from backtest_core.live.usecases import LiveServices, disconnect
from backtest_core.observability import logger

_svc: LiveServices | None = None


def services() -> LiveServices:
    global _svc
    if _svc is None:  # cold start
        _svc = LiveServices.from_settings(live_settings())
    return _svc


@logger.inject_lambda_context
def lambda_handler(event: dict, context: object) -> dict:
    disconnect(event["requestContext"]["connectionId"], services())
    return {"statusCode": 200}
