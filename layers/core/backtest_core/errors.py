"""One error vocabulary for the service; ``api.resolver`` maps it to HTTP in one place."""

from __future__ import annotations

from typing import Any


class BacktestError(Exception):
    """Base error. ``status`` is the HTTP status the API answers with; ``detail`` its body."""

    status: int = 500

    def __init__(self, detail: Any):
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail


class ValidationFailed(BacktestError):
    """Input is invalid. ``detail`` is a list of ``{loc, msg, type}`` like FastAPI's."""

    status = 422

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(errors)

    @classmethod
    def single(cls, loc: list[str | int], msg: str, type_: str = "value_error") -> ValidationFailed:
        return cls([{"loc": loc, "msg": msg, "type": type_}])


class Unauthorized(BacktestError):
    """The authorizer's token has no usable ``sub`` (missing, empty, reserved or too long)."""

    status = 401


class TaskNotFound(BacktestError):
    status = 404

    def __init__(self, task_id: str):
        super().__init__(f"Task not found: {task_id}")


class ResultNotFound(BacktestError):
    status = 404

    def __init__(self, run_id: str):
        super().__init__(f"Backtest result not found: {run_id}")


class NotCancellable(BacktestError):
    status = 400

    def __init__(self, status: str):
        super().__init__(
            f"Cannot cancel {status} task. Only queued or running tasks can be cancelled."
        )


class IdempotencyConflict(BacktestError):
    status = 409


class TooLargeForSync(BacktestError):
    status = 413

    def __init__(self) -> None:
        super().__init__("Backtest too large for a synchronous run; use /api/backtests/run-async")


class DocumentTooLarge(BacktestError):
    """A rule document over the size limit (checked before anything else)."""

    status = 413

    def __init__(self, size: int, limit: int):
        super().__init__(f"Rule document too large: {size} bytes, at most {limit}")


class StrategyNotFound(BacktestError):
    status = 404

    def __init__(self, name: str):
        super().__init__(f"Strategy not found: {name}")


class CandlesNotFound(BacktestError):
    """GET /api/candles of a symbol or timeframe the data store does not hold (the message
    names what it holds)."""

    status = 404


class StrategyConflict(BacktestError):
    """Saving under a built-in's name, or past the owner's limit."""

    status = 409


class EnqueueFailed(BacktestError):
    status = 500

    def __init__(self, reason: str):
        super().__init__(f"Failed to enqueue backtest job: {reason}")


# --- worker-side outcomes (never reach HTTP) -------------------------------------------


class PermanentTaskError(BacktestError):
    """Bad data or strategy error: the task fails at once with this message, no retry."""


class TaskCancelled(BacktestError):
    """The task was cancelled while running: the worker stops and writes nothing more."""


class TransitionRefused(BacktestError):
    """A conditional write lost: the record is in ``current`` (None when gone)."""

    def __init__(self, task_id: str, current: Any):
        super().__init__(f"transition refused for {task_id}")
        self.current = current
