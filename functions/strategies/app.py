"""/api/strategies: the catalog, the rule document schema, saved rule documents."""

from aws_lambda_powertools.logging import correlation_paths

from backtest_core.api.resolver import make_resolver
from backtest_core.api.strategy_routes import strategies_router
from backtest_core.observability import logger, metrics

app = make_resolver(strategies_router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
