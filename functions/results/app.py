"""GET /api/backtests/{run_id} and /download: the stored result document."""

from aws_lambda_powertools.logging import correlation_paths

from backtest_core.api.resolver import make_resolver
from backtest_core.api.routes import results_router
from backtest_core.observability import logger, metrics

app = make_resolver(results_router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
