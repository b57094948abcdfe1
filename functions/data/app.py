"""GET /api/data/inventory: the stored market data (one S3 listing + the manifest object)."""

from aws_lambda_powertools.logging import correlation_paths

from backtest_core.api.data_routes import data_router
from backtest_core.api.resolver import make_resolver
from backtest_core.observability import logger, metrics

app = make_resolver(data_router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
