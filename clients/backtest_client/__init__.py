"""Client of the async backtest API: `BacktestClient` (standard library) and the `backtest` CLI."""

from backtest_client.http import (
    TERMINAL_STATUSES,
    ApiError,
    ApiUnreachable,
    BacktestClient,
    WaitTimeout,
    render_detail,
)

__all__ = [
    "TERMINAL_STATUSES",
    "ApiError",
    "ApiUnreachable",
    "BacktestClient",
    "WaitTimeout",
    "render_detail",
]
