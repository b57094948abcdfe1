"""Step Functions: start/stop the fan-out execution and answer its task tokens.

The client is created on first use, so the API functions that never touch Step Functions
(status, history...) pay nothing for it. ``state_machine_arn`` None = fan-out is off.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import orjson
from botocore.exceptions import ClientError

from backtest_core.observability import logger

# Answering a token that timed out or was answered already: nothing left to tell.
_GONE_TOKEN = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")
MAX_CAUSE_CHARS = 32_768  # SendTaskFailure's cause limit


class StateMachine:
    """The fan-out state machine of this deployment (statemachines/fanout.asl.json)."""

    def __init__(self, client_factory: Callable[[], Any], arn: str | None):
        self._factory = client_factory
        self.arn = arn

    @cached_property
    def _sfn(self) -> Any:
        return self._factory()

    @property
    def enabled(self) -> bool:
        return bool(self.arn)

    def start(self, name: str, execution_input: dict[str, Any]) -> str:
        """Start (or find, when ``name`` already ran with this input) an execution; its ARN."""
        if not self.arn:
            raise RuntimeError("no fan-out state machine: set STATE_MACHINE_ARN")
        body = orjson.dumps(execution_input).decode()
        try:
            resp = self._sfn.start_execution(stateMachineArn=self.arn, name=name, input=body)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
            return self.execution_arn(name)
        return str(resp["executionArn"])

    def execution_arn(self, name: str) -> str:
        """``arn:…:execution:{machine}:{name}`` of this machine's execution ``name``."""
        prefix, _, machine = str(self.arn).rpartition(":stateMachine:")
        return f"{prefix}:execution:{machine}:{name}"

    def stop(self, execution_arn: str, cause: str) -> None:
        """Best effort (a cancel must be correct without it: shards check the record)."""
        try:
            self._sfn.stop_execution(executionArn=execution_arn, cause=cause[:MAX_CAUSE_CHARS])
        except Exception:
            logger.warning("could not stop the execution", extra={"execution": execution_arn},
                           exc_info=True)

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        self._answer(lambda: self._sfn.send_task_success(
            taskToken=token, output=orjson.dumps(output).decode()))

    def fail(self, token: str, error: str, cause: str) -> None:
        self._answer(lambda: self._sfn.send_task_failure(
            taskToken=token, error=error, cause=cause[:MAX_CAUSE_CHARS]))

    def heartbeat(self, token: str) -> bool:
        """SendTaskHeartbeat; False when the token is gone (timed out or answered)."""
        try:
            self._sfn.send_task_heartbeat(taskToken=token)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _GONE_TOKEN:
                return False
            raise
        return True

    @staticmethod
    def _answer(call: Callable[[], Any]) -> None:
        try:
            call()
        except ClientError as exc:  # a redelivered message answering twice: harmless
            if exc.response["Error"]["Code"] not in _GONE_TOKEN:
                raise
            logger.info("task token already answered or timed out")
