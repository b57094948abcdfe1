"""Overfitting statistics of a sweep: the deflated Sharpe ratio and the probability of
backtest overfitting (docs/sweeps.md). The aggregation reaches them through the engine port
(``backtest_core.engine_port.StatsPort``), so the core stays free of numpy."""

from .deflated import deflated_sharpe
from .pbo import PboResult, block_fields, block_statistics, pbo_direct, pbo_from_blocks

__all__ = ["PboResult", "block_fields", "block_statistics", "deflated_sharpe", "pbo_direct",
           "pbo_from_blocks"]
