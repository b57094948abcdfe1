"""EventBridge schedule (every minute) → the reaper: no task is left behind by a dead worker."""

from backtest_core.observability import logger, metrics
from backtest_core.services import services
from backtest_core.usecases.reaper import reap


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    report = reap(services())
    return {"requeued": report.requeued, "failed": report.failed, "resent": report.resent}
