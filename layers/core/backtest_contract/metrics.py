"""The result document's metrics, each with its unit, for the OpenAPI document.

The engine writes the result document as plain JSON (one builder,
``backtest_engine.results``); these models describe it for ``/api/openapi.json`` (the
results route's 200), so every metric's unit is stated here once (README, "Metrics and
units", is the table of the same). Extra fields are allowed and every field may be
absent or null (a non-finite number is written as null): the models document, they do not
restrict. Judge a run by the fee-aware portfolio block; the signal statistics are the
older system's (gross, per signal) and stay for compatibility.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_OPEN = ConfigDict(extra="allow")


class Trade(BaseModel):
    """One row of a block's ``trade_log``."""

    model_config = _OPEN

    symbol: str | None = None
    entry_time: str | None = Field(None, description="ISO 8601 UTC time of the entry fill bar")
    entry_price: float | None = Field(
        None, description="quote currency per unit, the fill (slippage included)"
    )
    exit_time: str | None = Field(None, description="ISO 8601 UTC time of the exit fill bar")
    exit_price: float | None = Field(None, description="quote currency per unit, the fill")
    exit_reason: str | None = Field(
        None, description="stop_loss, take_profit, trailing_stop, time, signal or end_of_data"
    )
    bars_held: int | None = Field(None, description="bars: exit bar − entry bar (0 = the same bar)")
    quantity: float | None = Field(None, description="units of the base asset bought")
    entry_notional: float | None = Field(
        None, description="the block's currency spent at entry, fee included"
    )
    fees: float | None = Field(None, description="the block's currency: entry and exit fees")
    pnl: float | None = Field(
        None, description="the block's currency, net: exit proceeds − entry notional"
    )
    return_pct: float | None = Field(None, description="percent, net: pnl / entry_notional · 100")


class PortfolioMetrics(BaseModel):
    """A fee-aware portfolio (docs/engine.md#metrics, docs/positions.md): the root block (all symbols on one cash
    pool) or a symbol's own (that symbol alone, capital 1.0)."""

    model_config = _OPEN

    total_return_pct: float | None = Field(
        None, description="percent: (final equity / start − 1) · 100, fees and slippage included"
    )
    buy_and_hold_return_pct: float | None = Field(
        None, description="percent: last close / first close − 1, · 100 (root: the symbols' mean)"
    )
    max_drawdown_pct: float | None = Field(
        None, description="percent: the largest fall below the running equity peak, 0..100"
    )
    sharpe: float | None = Field(
        None,
        description="annualised ratio (no unit): mean / std of per-bar "
        "returns · √(bars per year); 0 when undefined",
    )
    sortino: float | None = Field(
        None, description="annualised ratio (no unit), downside deviation"
    )
    exposure_pct: float | None = Field(None, description="percent of bars with a position open")
    trades: int | None = Field(None, description="count of closed trades")
    win_rate: float | None = Field(None, description="fraction 0..1 of trades with net pnl > 0")
    profit_factor: float | None = Field(
        None, description="ratio gains / |losses| (no unit); null without a losing trade"
    )
    final_equity: float | None = Field(
        None,
        description="the block's currency: of 1.0 for a symbol's own "
        "block, quote currency from initial_capital for "
        "the root block",
    )
    skipped_entries: int | None = Field(
        None, description="count of entries without a free slot or cash"
    )
    equity_curve: EquityCurve | None = None
    trade_log: list[Trade] | None = Field(
        None, description="every trade (?view=summary: the first 1,000)"
    )


class EquityCurve(BaseModel):
    """Every bar up to 2,000 bars, else 2,000 evenly spaced ones (first and last kept)."""

    t: list[str] | None = Field(None, description="ISO 8601 UTC bar times")
    equity: list[float | None] | None = Field(
        None, description="the block's currency (as final_equity), marked at each close"
    )


class SignalStatistics(BaseModel):
    """docs/engine.md#metrics, per symbol: every signal an independent trade, no fees (gross)."""

    model_config = _OPEN

    total_signals: int | None = Field(None, description="count of signals")
    win_rate: float | None = Field(
        None, description="fraction 0..1 of signals with a gross return > 0"
    )
    avg_return: float | None = Field(None, description="percent, gross, mean per signal")
    max_drawdown: float | None = Field(
        None,
        description="percentage points: the largest fall of the "
        "running sum of signal returns (can exceed 100; "
        "not the portfolio's max_drawdown_pct)",
    )
    avg_hold_bars: float | None = Field(None, description="bars each signal is held")


class Signal(BaseModel):
    model_config = _OPEN

    timestamp: str | None = Field(None, description="ISO 8601 UTC time of the signal bar")
    entry_price: float | None = Field(
        None, description="quote currency per unit (gross: no slippage)"
    )
    exit_price: float | None = Field(None, description="quote currency per unit (gross)")
    return_pct: float | None = Field(
        None, description="fraction, gross: (exit − entry) / entry (0.01 = 1 %)"
    )
    confidence: float | None = Field(None, description="0..1")


class PerformancePoint(BaseModel):
    """One point per signal of the gross signal-return curve (not the portfolio equity)."""

    model_config = _OPEN

    date: str | None = Field(None, description="UTC date of the signal, YYYY-MM-DD")
    timestamp: str | None = Field(
        default=None, description="ISO 8601 UTC time of the signal; intraday timeframes only"
    )
    equity: float | None = Field(
        None, description="multiple of 1.0: compounded gross signal returns"
    )


class SymbolResult(SignalStatistics):
    symbol: str | None = None
    signals: list[Signal] | None = Field(None, description="absent in ?view=summary")
    performance_curve: list[PerformancePoint] | None = Field(
        None, description="null without signals; absent in ?view=summary"
    )
    portfolio: PortfolioMetrics | None = Field(
        None, description="the symbol's own fee-aware portfolio"
    )


class ResultDocument(BaseModel):
    """The result document (version 1.3.0; docs/api.md, "Result document")."""

    model_config = _OPEN

    version: str
    run_id: str
    timeframe: str | None = None
    total_signals: int | None = Field(None, description="count of signals over all symbols")
    execution_time: float | None = Field(None, description="seconds")
    symbols: list[SymbolResult | str] | None = Field(
        None,
        description="a backtest's per-symbol results; a sweep's symbol names "
        "(docs/sweeps.md: its leaderboard carries the metrics)",
    )
    portfolio: PortfolioMetrics | None = Field(
        default=None, description="the shared portfolio of all symbols (the headline)"
    )
