"""GET /api/candles: one symbol's candles for the console's price chart (engine layer)."""

from aws_lambda_powertools.logging import correlation_paths

from backtest_core.api.candles_routes import candles_router, use_chart
from backtest_core.api.resolver import make_resolver
from backtest_core.observability import logger, metrics
from backtest_engine.adapter import Engine

use_chart(Engine().chart_candles)
app = make_resolver(candles_router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
