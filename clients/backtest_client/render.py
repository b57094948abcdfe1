"""Human-readable output of the `backtest` CLI (rich tables and short summaries)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

_PLAIN_WIDTH = 200  # wide enough that tables don't wrap when piped to a file or a test


def make_console(file: TextIO | None = None) -> Console:
    """A console on ``file`` (stdout by default); fixed width when not a terminal."""
    stream = file or sys.stdout
    is_tty = stream.isatty()
    return Console(file=stream, width=None if is_tty else _PLAIN_WIDTH, highlight=False,
                   soft_wrap=not is_tty)


def fmt_num(value: Any, digits: int = 2, scale: float = 1.0) -> str:
    """``1.23456 → "1.23"``; None/missing → "-"; non-numbers as text."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value * scale:.{digits}f}"


SIGNAL_STATS_TITLE = "signal stats (gross, per signal; drawdown in points)"
FIRST_TRADES = 5


def headline_portfolio(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The fee-aware portfolio a run is judged by (docs/api.md "Units"): the root block
    of a multi-symbol run (one cash pool), else the only symbol's own block."""
    root = doc.get("portfolio")
    if isinstance(root, Mapping):
        return root
    symbols = [s for s in doc.get("symbols") or [] if isinstance(s, Mapping)]
    if len(symbols) == 1 and isinstance(symbols[0].get("portfolio"), Mapping):
        return symbols[0]["portfolio"]
    return None


def portfolio_line(block: Mapping[str, Any]) -> str:
    """Final equity, return and drawdown in percent, buy and hold beside, trades, skips."""
    return (
        f"final equity {fmt_num(block.get('final_equity'), 2)}   "
        f"total return {fmt_num(block.get('total_return_pct'), 2)} %   "
        f"buy & hold {fmt_num(block.get('buy_and_hold_return_pct'), 2)} %   "
        f"max drawdown {fmt_num(block.get('max_drawdown_pct'), 2)} %   "
        f"trades {fmt_num(block.get('trades'), 0)}   "
        f"skipped entries {fmt_num(block.get('skipped_entries'), 0)}"
    )


def symbol_table(doc: Mapping[str, Any]) -> Table:
    """One row per symbol: its own fee-aware portfolio (percent), buy and hold beside."""
    table = Table(title="Per-symbol portfolio (fee-aware)")
    for name in ("Symbol", "Total return %", "Buy & hold %", "Max drawdown %", "Trades",
                 "Sharpe", "Final equity"):
        table.add_column(name, justify="left" if name == "Symbol" else "right")
    for sym in doc.get("symbols") or []:
        portfolio = sym.get("portfolio") or {}
        table.add_row(
            str(sym.get("symbol", "?")),
            fmt_num(portfolio.get("total_return_pct"), 2),
            fmt_num(portfolio.get("buy_and_hold_return_pct"), 2),
            fmt_num(portfolio.get("max_drawdown_pct"), 2),
            fmt_num(portfolio.get("trades"), 0),
            fmt_num(portfolio.get("sharpe"), 2),
            fmt_num(portfolio.get("final_equity"), 2),
        )
    return table


def signal_table(doc: Mapping[str, Any]) -> Table:
    """The per-signal statistics (docs/engine.md#metrics), labelled as what they are (not the headline)."""
    table = Table(title=SIGNAL_STATS_TITLE)
    for name in ("Symbol", "Signals", "Win rate %", "Avg return %", "Max drawdown (pts)"):
        table.add_column(name, justify="left" if name == "Symbol" else "right")
    for sym in doc.get("symbols") or []:
        signals = sym.get("signals")
        count = sym.get("total_signals")
        if count is None and isinstance(signals, list):
            count = len(signals)
        table.add_row(
            str(sym.get("symbol", "?")),
            fmt_num(count, 0),
            fmt_num(sym.get("win_rate"), 1, 100.0),
            fmt_num(sym.get("avg_return"), 3),
            fmt_num(sym.get("max_drawdown"), 3),
        )
    return table


def trades_table(block: Mapping[str, Any], limit: int = FIRST_TRADES) -> Table:
    """The first ``limit`` trades of a portfolio block's ``trade_log``."""
    log = [t for t in block.get("trade_log") or [] if isinstance(t, Mapping)]
    table = Table(title=f"First trades ({min(limit, len(log))} of {fmt_num(block.get('trades'), 0)})")
    for name in ("Symbol", "Entry time", "Entry price", "Exit time", "Exit price",
                 "Exit reason", "Return %"):
        right = name in ("Entry price", "Exit price", "Return %")
        table.add_column(name, justify="right" if right else "left", no_wrap=True)
    for trade in log[:limit]:
        table.add_row(
            str(trade.get("symbol", "?")), str(trade.get("entry_time", "-")),
            fmt_num(trade.get("entry_price"), 4), str(trade.get("exit_time", "-")),
            fmt_num(trade.get("exit_price"), 4), str(trade.get("exit_reason", "-")),
            fmt_num(trade.get("return_pct"), 2),
        )
    return table


def print_result(console: Console, doc: Mapping[str, Any]) -> None:
    """Headline (the fee-aware portfolio), per-symbol portfolios, the first trades, the
    labelled signal statistics and any failed symbols of a result document."""
    run_id = doc.get("run_id") or doc.get("task_id") or "?"
    console.print(
        f"run {run_id}: {doc.get('strategy', '?')} {doc.get('timeframe', '')} "
        f"{doc.get('start_date', '?')} .. {doc.get('end_date', '?')}"
    )
    symbols = doc.get("symbols") or []
    headline = headline_portfolio(doc)
    if headline is not None:
        several = isinstance(doc.get("portfolio"), Mapping) and len(symbols) > 1
        label = "portfolio (all symbols, one cash pool)" if several else "portfolio"
        console.print(f"{label}: {portfolio_line(headline)}")
    console.print(
        f"total signals: {fmt_num(doc.get('total_signals'), 0)}   "
        f"execution time: {fmt_num(doc.get('execution_time'), 2)} s"
    )
    if symbols and all(isinstance(s, Mapping) for s in symbols):
        console.print(symbol_table(doc))
        if headline is not None and headline.get("trade_log"):
            console.print(trades_table(headline))
        console.print(signal_table(doc))
    elif symbols:  # the status summary carries symbol names only
        console.print(f"symbols: {', '.join(map(str, symbols))}")
    for failed in doc.get("failed_symbols") or []:
        if isinstance(failed, Mapping):
            console.print(f"failed symbol {failed.get('symbol')}: {failed.get('reason')}")
        else:
            console.print(f"failed symbol {failed}")


def print_status(console: Console, doc: Mapping[str, Any]) -> None:
    """The key fields of a status document, one per line."""
    progress = doc.get("progress")
    lines = [
        ("task", doc.get("task_id")),
        ("status", doc.get("status")),
        ("stage", doc.get("stage")),
        ("attempt", doc.get("attempt") if int(doc.get("attempt") or 0) > 1 else None),
        ("progress", None if progress is None else f"{fmt_num(progress, 1, 100.0)} %"),
        ("symbols", _symbols_done(doc)),
        ("created", doc.get("created_at")),
        ("finished", doc.get("finished_at")),
        ("error", doc.get("error")),
    ]
    for label, value in lines:
        if value is not None:
            console.print(f"{label:<9}{value}")
    result = doc.get("result")
    if isinstance(result, Mapping) and "total_signals" in result:
        console.print(f"{'signals':<9}{result['total_signals']}")


def _symbols_done(doc: Mapping[str, Any]) -> str | None:
    total = doc.get("symbols_total")
    return None if total is None else f"{doc.get('symbols_done', 0)}/{total}"


def history_table(page: Mapping[str, Any]) -> Table:
    """A history page ``{items, next_cursor}`` as a table, newest first."""
    table = Table(title="History")
    for name in ("Task", "Status", "Strategy", "Symbols", "TF", "Window", "Signals",
                 "Progress %", "Created"):
        table.add_column(name, justify="right" if name in ("Signals", "Progress %") else "left",
                         no_wrap=name in ("Task", "Created"))  # ids must stay copyable
    for item in page.get("items") or []:
        symbols = item.get("symbols")
        window = f"{item.get('start_date', '?')}..{item.get('end_date', '?')}"
        table.add_row(
            str(item.get("task_id", "?")),
            str(item.get("status", "?")),
            str(item.get("strategy", "-")),
            ",".join(symbols) if isinstance(symbols, list) else str(symbols or "-"),
            str(item.get("timeframe") or "-"),
            window if item.get("start_date") else "-",
            fmt_num(item.get("total_signals"), 0),
            fmt_num(item.get("progress"), 0, 100.0),
            str(item.get("created_at", "-")),
        )
    return table


def strategies_table(doc: Mapping[str, Any]) -> Table:
    """``GET /api/strategies`` as a table of names, descriptions and defaults."""
    table = Table(title="Strategies")
    table.add_column("Name")
    table.add_column("Description")
    table.add_column("Defaults")
    details = doc.get("details") or [{"name": n} for n in doc.get("strategies") or []]
    for item in details:
        defaults = item.get("defaults") or {}
        table.add_row(
            str(item.get("name", "?")),
            str(item.get("description") or ""),
            ", ".join(f"{k}={v}" for k, v in defaults.items()),
        )
    return table


def leaderboard_table(doc: Mapping[str, Any], top: int = 10) -> Table:
    """The best ``top`` entries of a sweep result (docs/sweeps.md): rank, params, score and the
    per-symbol mean of the main metrics."""
    grid_keys = list(doc.get("grid") or {})
    table = Table(title=f"Leaderboard by mean {doc.get('rank_by', '?')} "
                        f"({doc.get('combinations', '?')} combinations)")
    for name in ("Rank", *grid_keys, "Score", "Signals", "Total return %", "Sharpe", "Max DD %"):
        table.add_column(name, justify="right")
    for entry in (doc.get("leaderboard") or [])[:top]:
        blocks = list((entry.get("per_symbol") or {}).values())

        def mean(pick: Any, blocks: list[Any] = blocks) -> float | None:
            values = [pick(b) for b in blocks]
            values = [v for v in values if isinstance(v, int | float)]
            return sum(values) / len(values) if values else None

        params = entry.get("params") or {}
        table.add_row(
            str(entry.get("rank", "?")), *(str(params.get(k, "-")) for k in grid_keys),
            fmt_num(entry.get("score"), 4),
            fmt_num(mean(lambda b: b.get("total_signals")), 0),
            fmt_num(mean(lambda b: (b.get("portfolio") or {}).get("total_return_pct")), 2),
            fmt_num(mean(lambda b: (b.get("portfolio") or {}).get("sharpe")), 2),
            fmt_num(mean(lambda b: (b.get("portfolio") or {}).get("max_drawdown_pct")), 2),
        )
    return table


def print_sweep(console: Console, doc: Mapping[str, Any]) -> None:
    """Headline, leaderboard, deflated Sharpe and PBO, the walk-forward folds (when the
    sweep ran them) and failed symbols."""
    console.print(
        f"sweep {doc.get('run_id', '?')}: {doc.get('strategy', '?')} {doc.get('timeframe', '')} "
        f"{doc.get('start_date', '?')} .. {doc.get('end_date', '?')}, "
        f"symbols {', '.join(doc.get('symbols') or [])}"
    )
    console.print(leaderboard_table(doc))
    over = (doc.get("overfitting") or {}).get("per_symbol") or {}
    for symbol, block in over.items():
        console.print(f"best entry on {symbol}: per-bar Sharpe {fmt_num(block.get('sharpe_per_bar'), 4)}, "
                      f"deflated Sharpe {fmt_num(block.get('deflated_sharpe'), 3)}, "
                      f"PBO {fmt_num(block.get('pbo'), 2)}"
                      + (f" ({block['pbo_reason']})" if block.get("pbo_reason") else ""))
    pbo = (doc.get("overfitting") or {}).get("pbo")
    if pbo is not None:
        console.print(pbo_reading(float(pbo)))
    if doc.get("walk_forward"):
        console.print(walk_forward_table(doc["walk_forward"], list(doc.get("grid") or {})))
        wf = doc["walk_forward"]
        console.print(f"walk-forward: in-sample {fmt_num(wf.get('is_score'), 4)}, "
                      f"out-of-sample {fmt_num(wf.get('oos_score'), 4)}, "
                      f"efficiency {fmt_num(wf.get('efficiency'), 2)}")
    for failed in doc.get("failed_symbols") or []:
        console.print(f"failed: {failed.get('symbol')}: {failed.get('reason')}")


def pbo_reading(pbo: float) -> str:
    """The one-line reading of a sweep's PBO (docs/sweeps.md, "Reading PBO")."""
    if pbo > 0.5:
        return (f"PBO {pbo:.2f}: the best in-sample combination is likely to rank below the "
                "median out of sample")
    if pbo == 0.5:
        return (f"PBO {pbo:.2f}: the best in-sample combination is as likely below the median "
                "out of sample as above it")
    return (f"PBO {pbo:.2f}: the best in-sample combination tends to stay above the median "
            "out of sample")


def walk_forward_table(wf: Mapping[str, Any], grid_keys: list[str]) -> Table:
    """One row per fold: training and test ranges, the chosen grid values and both scores."""
    table = Table(title="Walk-forward")
    for name in ("Fold", "Train", "Test", *grid_keys, "Train score", "Test score"):
        table.add_column(name, justify="right")
    for fold in wf.get("folds") or []:
        train, test = fold.get("train") or {}, fold.get("test") or {}
        params = fold.get("best_params") or {}
        table.add_row(str(fold.get("fold")),
                      f"{str(train.get('first', '?'))[:10]} .. {str(train.get('last', '?'))[:10]}",
                      f"{str(test.get('first', '?'))[:10]} .. {str(test.get('last', '?'))[:10]}",
                      *(str(params.get(k, "-")) for k in grid_keys),
                      fmt_num(fold.get("train_score"), 4), fmt_num(fold.get("test_score"), 4))
    return table
