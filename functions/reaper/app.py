"""EventBridge schedule (every minute) → the reaper: no task is left behind by a dead worker.

One pass, then it watches running leases for ``REAPER_WATCH_S`` (at most the invocation's
remaining time less a margin): docs/operations.md, "Reaper"."""

from backtest_core.observability import logger, metrics
from backtest_core.services import services
from backtest_core.usecases.reaper import watch

_MARGIN_S = 5.0  # left of the invocation's timeout when the watch ends


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    svc = services()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    budget = svc.settings.reaper_watch_s
    if remaining is not None:
        budget = min(budget, max(0.0, remaining() / 1000 - _MARGIN_S))
    report = watch(svc, budget)
    return {"requeued": report.requeued, "failed": report.failed, "resent": report.resent}
