"""WebSocket ``$connect``: ``?task_id=`` (and ``token`` when the authorizer is on).

Answers 200 (stored; the snapshot follows through the Connections stream), 400 without
``task_id``, 404 "Task not found: {id}" for an unknown or another owner's task (API Gateway
then refuses the upgrade; the local server closes with 4404, docs/live.md).
"""

from functools import cache

from backtest_core.errors import TaskNotFound
from backtest_core.live.settings import live_settings
from backtest_core.live.usecases import LiveServices, connect
from backtest_core.observability import logger


@cache
def services() -> LiveServices:
    """Built once, at the first invocation (cold start)."""
    return LiveServices.from_settings(live_settings())


def owner_of(event: dict) -> str:
    """The Lambda authorizer's ``sub`` (its context), or ``anonymous`` without one."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    return str(authorizer.get("sub") or "anonymous")


@logger.inject_lambda_context
def lambda_handler(event: dict, context: object) -> dict:
    task_id = (event.get("queryStringParameters") or {}).get("task_id") or ""
    if not task_id:
        return {"statusCode": 400, "body": "Query parameter task_id is required"}
    connection_id = event["requestContext"]["connectionId"]
    try:
        connect(task_id, owner_of(event), connection_id, services())
    except TaskNotFound as exc:
        return {"statusCode": 404, "body": str(exc.detail)}
    return {"statusCode": 200}
