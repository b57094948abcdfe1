"""Position simulator: entry/exit masks → trades, equity and the ``portfolio`` block.

The rules (fills, levels, the order inside a bar, sizing, the shared portfolio) are in
docs/positions.md; ``backtest_contract.position.PositionSpec`` is the configuration.

>>> import numpy as np
>>> from backtest_contract.position import PositionSpec
>>> close = np.array([100.0, 101.0, 102.0])
>>> bars = SymbolBars("BTC_KRW", np.arange(3) * 86_400 * 10**9, close, close, close, close,
...                   entry=np.array([True, False, False]))
>>> simulate_symbol(bars, PositionSpec(time_exit_bars=1), 0.0, 0.0).final_equity
1.01
"""

from backtest_engine.sim.exits import ExitPlan, ExitPlanner
from backtest_engine.sim.inputs import (
    REASONS,
    SymbolBars,
    atr_lengths,
    compute_atr,
    compute_atrs,
    pack_bars,
    unpack_bars,
)
from backtest_engine.sim.metrics import (
                                        curve_indices,
                                        equity_curve,
                                        iso_times,
                                        portfolio_block,
                                        trade_log,
)
from backtest_engine.sim.result import SimResult
from backtest_engine.sim.simulate import simulate_portfolio, simulate_symbol

__all__ = [
    "REASONS", "ExitPlan", "ExitPlanner", "SimResult", "SymbolBars", "atr_lengths",
    "compute_atr", "compute_atrs", "curve_indices", "equity_curve", "iso_times",
    "pack_bars", "portfolio_block", "unpack_bars", "simulate_portfolio", "simulate_symbol", "trade_log",
]
