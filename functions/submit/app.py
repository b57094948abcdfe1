"""POST /api/backtests/run-async: validate, store the task, enqueue, answer at once."""

from aws_lambda_powertools.logging import correlation_paths

from backtest_core.api.resolver import make_resolver
from backtest_core.api.routes import submit_router
from backtest_core.observability import logger, metrics

app = make_resolver(submit_router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
