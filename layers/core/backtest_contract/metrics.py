"""The result document's metrics, each with its unit, for the OpenAPI document.

The engine writes the result document as plain JSON (one builder,
``backtest_engine.results``); these models describe it for ``/api/openapi.json`` (the
results route's 200), so every metric's unit is stated here once (README, "Metrics and
units", is the table of the same). Extra fields are allowed: the models document, they do
not restrict. Judge a run by the fee-aware portfolio block; the signal statistics are the
older system's (gross, per signal) and stay for compatibility.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_OPEN = ConfigDict(extra="allow")


class Trade(BaseModel):
    """One row of a block's ``trade_log``."""

    model_config = _OPEN

    symbol: str
    entry_time: str = Field(description="ISO 8601 UTC time of the entry fill bar")
    entry_price: float = Field(description="quote currency per unit, the fill (slippage "
                                           "included)")
    exit_time: str = Field(description="ISO 8601 UTC time of the exit fill bar")
    exit_price: float = Field(description="quote currency per unit, the fill")
    exit_reason: str = Field(description="stop_loss, take_profit, trailing_stop, time, signal "
                                         "or end_of_data")
    bars_held: int = Field(description="bars: exit bar − entry bar (0 = the same bar)")
    quantity: float = Field(description="units of the base asset bought")
    entry_notional: float = Field(description="the block's currency spent at entry, fee "
                                              "included")
    fees: float = Field(description="the block's currency: entry and exit fees")
    pnl: float = Field(description="the block's currency, net: exit proceeds − entry notional")
    return_pct: float = Field(description="percent, net: pnl / entry_notional · 100")


class PortfolioMetrics(BaseModel):
    """A fee-aware portfolio (SPEC §4.2, §15): the root block (all symbols on one cash
    pool) or a symbol's own (that symbol alone, capital 1.0)."""

    model_config = _OPEN

    total_return_pct: float = Field(description="percent: (final equity / start − 1) · 100, "
                                                "fees and slippage included")
    buy_and_hold_return_pct: float = Field(description="percent: last close / first close − 1, "
                                                       "· 100 (root: the symbols' mean)")
    max_drawdown_pct: float = Field(description="percent of the running equity peak, 0..100")
    sharpe: float = Field(description="annualised ratio (no unit): mean / std of per-bar "
                                      "returns · √(bars per year); 0 when undefined")
    sortino: float = Field(description="annualised ratio (no unit), downside deviation")
    exposure_pct: float = Field(description="percent of bars with a position open")
    trades: int = Field(description="count of closed trades")
    win_rate: float = Field(description="fraction 0..1 of trades with net pnl > 0")
    profit_factor: float | None = Field(description="ratio gains / |losses| (no unit); null "
                                                    "without a losing trade")
    final_equity: float = Field(description="the block's currency: of 1.0 for a symbol's own "
                                            "block, quote currency from initial_capital for "
                                            "the root block")
    skipped_entries: int = Field(description="count of entries without a free slot or cash")
    equity_curve: EquityCurve
    trade_log: list[Trade] = Field(description="every trade (?view=summary: the first 1,000)")


class EquityCurve(BaseModel):
    """Every bar up to 2,000 bars, else 2,000 evenly spaced ones (first and last kept)."""

    t: list[str] = Field(description="ISO 8601 UTC bar times")
    equity: list[float] = Field(description="the block's currency (as final_equity), marked "
                                            "at each close")


class SignalStatistics(BaseModel):
    """SPEC §4.1, per symbol: every signal an independent trade, no fees (gross)."""

    model_config = _OPEN

    total_signals: int = Field(description="count of signals")
    win_rate: float = Field(description="fraction 0..1 of signals with a gross return > 0")
    avg_return: float = Field(description="percent, gross, mean per signal")
    max_drawdown: float = Field(description="percentage points: the largest fall of the "
                                            "running sum of signal returns (can exceed 100; "
                                            "not the portfolio's max_drawdown_pct)")
    avg_hold_bars: float = Field(description="bars each signal is held")


class Signal(BaseModel):
    model_config = _OPEN

    timestamp: str = Field(description="ISO 8601 UTC time of the signal bar")
    entry_price: float = Field(description="quote currency per unit (gross: no slippage)")
    exit_price: float = Field(description="quote currency per unit (gross)")
    return_pct: float = Field(description="fraction, gross: (exit − entry) / entry "
                                          "(0.01 = 1 %)")
    confidence: float = Field(description="0..1")


class PerformancePoint(BaseModel):
    """One point per signal of the gross signal-return curve (not the portfolio equity)."""

    model_config = _OPEN

    date: str = Field(description="UTC date of the signal, YYYY-MM-DD")
    timestamp: str | None = Field(default=None, description="ISO 8601 UTC time of the signal; "
                                                            "intraday timeframes only")
    equity: float = Field(description="multiple of 1.0: compounded gross signal returns")


class SymbolResult(SignalStatistics):
    symbol: str
    signals: list[Signal] = Field(description="absent in ?view=summary")
    performance_curve: list[PerformancePoint] | None = Field(
        description="null without signals; absent in ?view=summary")
    portfolio: PortfolioMetrics = Field(description="the symbol's own fee-aware portfolio")


class ResultDocument(BaseModel):
    """The result document (version 1.3.0; docs/api.md, "Result document")."""

    model_config = _OPEN

    version: str
    run_id: str
    timeframe: str
    total_signals: int = Field(description="count of signals over all symbols")
    execution_time: float = Field(description="seconds")
    symbols: list[SymbolResult]
    portfolio: PortfolioMetrics | None = Field(
        default=None, description="the shared portfolio of all symbols (the headline)")
