"""POST /api/backtests/run: small backtests answered synchronously (413 when too large)."""

from aws_lambda_powertools.logging import correlation_paths

from backtest_core.api.resolver import make_resolver
from backtest_core.api.sync_run import run_sync_router, use_engine
from backtest_core.observability import logger, metrics
from backtest_engine.adapter import Engine

use_engine(Engine())
app = make_resolver(run_sync_router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
