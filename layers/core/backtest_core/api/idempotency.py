"""``Idempotency-Key`` on run-async through Powertools idempotency (24 h, per owner).

Same key + same body → the first response, no new task. Same key + another body → 409.
The record key is the JSON pair ``[owner, key]`` (hashed by Powertools): no separator that
an owner or a key could contain, so ``carol`` + ``x#K`` and ``carol#x`` + ``K`` never meet.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from backtest_core import aws
from backtest_core.errors import IdempotencyConflict
from backtest_core.models import BacktestRequest, SweepCreated, SweepRequest, TaskCreated
from backtest_core.services import services
from backtest_core.usecases.submit import submit, submit_sweep

WINDOW_S = 24 * 3600


@cache
def _once() -> Any:
    cfg = services().settings
    persistence = DynamoDBPersistenceLayer(
        table_name=cfg.idempotency_table, boto3_client=aws.client("dynamodb")
    )
    config = IdempotencyConfig(
        event_key_jmespath="key", payload_validation_jmespath="body",
        expires_after_seconds=WINDOW_S, raise_on_no_idempotency_key=True,
    )

    @idempotent_function(data_keyword_argument="submission", persistence_store=persistence,
                         config=config)
    def _submit(submission: dict[str, Any]) -> dict[str, Any]:
        if submission.get("kind") == "sweep":
            sweep = SweepRequest.model_validate(submission["body"])
            return submit_sweep(sweep, submission["owner"], services()).model_dump(mode="json")
        request = BacktestRequest.model_validate(submission["body"])
        return submit(request, submission["owner"], services()).model_dump(mode="json")

    return _submit, config


def submit_once(request: BacktestRequest, owner: str, key: str, lambda_context: Any) -> TaskCreated:
    """Submit a backtest or (a ``SweepRequest``) a sweep once per owner and key."""
    sweep = isinstance(request, SweepRequest)
    submission = {"key": [owner, key], "owner": owner, "kind": "sweep" if sweep else "run",
                  "body": request.model_dump(mode="json")}
    once, config = _once()
    config.register_lambda_context(lambda_context)  # in-progress records expire with the invocation
    answer_model = SweepCreated if sweep else TaskCreated
    try:
        return answer_model.model_validate(once(submission=submission))
    except IdempotencyValidationError:
        raise IdempotencyConflict(
            "Idempotency-Key was already used with a different request body"
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyConflict(
            "A request with this Idempotency-Key is still being processed; retry shortly"
        ) from None
