"""Assemble a fanned-out task's result from its shards (docs/sweeps.md). Pure Python, no numpy.

(A fanned-out plain run's document is the engine's: ``EnginePort.assemble``, the one
result builder, which also simulates the shared portfolio over every symbol.)
- ``sweep_document``: the leaderboard (every combination ranked by the mean of
  ``rank_by`` over the symbols that ran; ties keep grid order) and the ``overfitting``
  block with the deflated Sharpe ratio of the best entry, computed by the engine's
  statistics (``StatsPort``: the aggregation runs in the worker, which has the engine),
  the probability of backtest overfitting per symbol and, with
  ``validation.walk_forward``, the ``walk_forward`` block (docs/sweeps.md).

A shard document is what the worker stored for it, or ``{"error": msg}`` (the shard
failed), or None (it never finished). A symbol with any failed shard is reported in
``failed_symbols`` and left out of every leaderboard entry.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from backtest_contract.results import RESULT_VERSION
from backtest_contract.rules import document_version
from backtest_core.engine_port import StatsPort
from backtest_core.models import SweepRequest
from backtest_core.sweeps import expand_grid
from backtest_core.walkforward import FoldOutcome, choose_best, walk_forward_summary

LOWER_IS_BETTER = frozenset({"portfolio.max_drawdown_pct"})
ShardDoc = dict[str, Any] | None


def no_data_message(symbols: list[str], start: str, end: str) -> str:
    """As the engine's: ``No data found for symbols ['BTC_KRW'] in range A ~ B``."""
    return f"No data found for symbols {symbols!r} in range {start} ~ {end}"


def shard_failure(doc: ShardDoc) -> str | None:
    """Why a shard has no result (None when it has one)."""
    if doc is None:
        return "shard did not finish"
    if "error" in doc:
        return f"shard failed: {doc['error']}"
    return None


def sweep_document(request: SweepRequest, run_id: str, docs: list[ShardDoc],
                   metadata: dict[str, Any], execution_time_s: float,
                   stats: StatsPort) -> dict[str, Any] | None:
    """The sweep result (see the module docstring); None when no symbol ran."""
    combos = expand_grid(request.grid)
    per_symbol = len(docs) // len(request.symbols)
    ran: dict[str, tuple[int, list[dict[str, Any]]]] = {}  # symbol → (bars, entries)
    rows: dict[str, int] = {}  # symbol → per-bar returns per combination (PBO)
    wf_ranges: list[dict[str, str]] = []
    failed: list[dict[str, str]] = []
    for s_index, symbol in enumerate(request.symbols):
        shards = docs[s_index * per_symbol:(s_index + 1) * per_symbol]
        reason = next((r for r in map(shard_failure, shards) if r), None)
        reason = reason or next((d["failed_reason"] for d in shards
                                 if d is not None and d.get("failed_reason")), None)
        if reason:
            failed.append({"symbol": symbol, "reason": reason})
            continue
        entries = [e for d in shards if d is not None for e in d["entries"]]
        ran[symbol] = (int(shards[0]["bars"]) if shards[0] else 0, entries)
        rows[symbol] = int(shards[0].get("pbo_rows", 0)) if shards[0] else 0
        wf_ranges = wf_ranges or (shards[0] or {}).get("wf_ranges", [])
        metadata = {**metadata, "engine_version": shards[0]["engine_version"]} if shards[0] \
            else metadata
    if not ran:
        return None
    board = leaderboard(request, combos, {s: entries for s, (_, entries) in ran.items()})
    fit = overfitting(board[0][1], ran, stats)
    for symbol, (_, entries) in ran.items():
        fit["per_symbol"][symbol].update(symbol_pbo(rows[symbol], entries, stats))
    fit["pbo"] = mean_pbo(fit["per_symbol"])
    document = {
        "version": RESULT_VERSION,
        "kind": "sweep",
        "run_id": run_id,
        "strategy": request.strategy_name,
        # the stored (resolved) rule document, as in a run's result (docs/rules.md)
        "definition": request.definition,
        "definition_version": None if request.definition is None
        else document_version(request.definition),
        "params": request.params,
        "grid": request.grid,
        "rank_by": request.rank_by,
        "symbols": list(ran),
        "start_date": request.start_date.isoformat(),
        "end_date": request.end_date.isoformat(),
        "timeframe": request.timeframe,
        "combinations": len(combos),
        "execution_time": execution_time_s,
        "metadata": metadata,
        "failed_symbols": failed,
        "leaderboard": [entry for entry, _ in board],
        "overfitting": fit,
    }
    wf = request.validation.walk_forward if request.validation else None
    if wf is not None:
        document["walk_forward"] = walk_forward_block(
            [{**request.params, **c} for c in combos], wf_ranges,
            [entries for _, entries in ran.values()], request.rank_by in LOWER_IS_BETTER)
    return document


def walk_forward_block(combinations: list[dict[str, Any]], ranges: list[dict[str, str]],
                       per_symbol: list[list[dict[str, Any]]],
                       lower_is_better: bool) -> dict[str, Any]:
    """The ``walk_forward`` block from the shards' ``wf_ranges`` (every fold's training
    range, then every fold's test range: first/last timestamps) and each symbol's entries
    with ``wf_scores`` (one score per range, None where null or the symbol has under 2 bars
    in the range). A range's score is the mean over the symbols with a score there (None
    when none has): symbols with different histories still share the union's folds."""
    k = len(ranges) // 2

    def mean_score(index: int, r: int) -> float | None:
        values = [float(v) for entries in per_symbol
                  if (v := entries[index]["wf_scores"][r]) is not None]
        return statistics.fmean(values) if values else None

    outcomes = []
    for j in range(k):
        train = [mean_score(i, j) for i in range(len(combinations))]
        best = choose_best(train, lower_is_better)
        outcomes.append(FoldOutcome(
            fold=j + 1, train_first=ranges[j]["first"], train_last=ranges[j]["last"],
            test_first=ranges[k + j]["first"], test_last=ranges[k + j]["last"],
            train_scores=train, test_score=mean_score(best, k + j)))
    return walk_forward_summary(outcomes, combinations, lower_is_better)


PER_SYMBOL_FIELDS = ("total_signals", "win_rate", "avg_return", "max_drawdown", "portfolio")


def leaderboard(request: SweepRequest, combos: list[dict[str, Any]],
                entries: dict[str, list[dict[str, Any]]]) -> list[tuple[dict[str, Any], int]]:
    """``[(entry, combination index)]`` best first; ties (and None scores, last) keep grid
    order (Python's sort is stable)."""
    rows = []
    for index, combo in enumerate(combos):
        per_symbol = {s: {k: e[index][k] for k in PER_SYMBOL_FIELDS} for s, e in entries.items()}
        rows.append(({"params": {**request.params, **combo},
                      "score": score(per_symbol.values(), request.rank_by),
                      "per_symbol": per_symbol}, index))
    sign = 1.0 if request.rank_by in LOWER_IS_BETTER else -1.0
    rows.sort(key=lambda row: (row[0]["score"] is None, sign * (row[0]["score"] or 0.0)))
    return [({"rank": rank, **entry}, index) for rank, (entry, index) in enumerate(rows, 1)]


def score(blocks: Any, rank_by: str) -> float | None:
    """Mean of ``rank_by`` (a dotted path such as ``portfolio.sharpe``) over the symbol
    blocks; None when any value is missing (null)."""
    values = []
    for block in blocks:
        value: Any = block
        for part in rank_by.split("."):
            value = value[part]
        if value is None:
            return None
        values.append(float(value))
    return statistics.fmean(values) if values else None


def overfitting(best: int, ran: dict[str, tuple[int, list[dict[str, Any]]]],
                stats: StatsPort) -> dict[str, Any]:
    """``{trials, per_symbol: {S: {sharpe_per_bar, deflated_sharpe}}}`` of entry ``best``;
    ``ran`` = symbol → (bars, entries in grid order)."""
    trials = len(next(iter(ran.values()))[1])
    per_symbol = {}
    for symbol, (bars, entries) in ran.items():
        moments = entries[best]["stats"]
        sharpes = [float(e["stats"]["sharpe_per_bar"]) for e in entries]
        per_symbol[symbol] = {
            "sharpe_per_bar": moments["sharpe_per_bar"],
            "deflated_sharpe": stats.deflated_sharpe(
                float(moments["sharpe_per_bar"]), bars, float(moments["skewness"]),
                float(moments["kurtosis"]), statistics.pvariance(sharpes) if trials > 1 else 0.0,
                trials),
        }
    return {"trials": trials, "per_symbol": per_symbol}


PBO_SUM, PBO_SUMSQ = "pbo_sum", "pbo_sumsq"  # per shard entry: the S block sums (docs/sweeps.md)


def symbol_pbo(rows: int, entries: list[dict[str, Any]], stats: StatsPort) -> dict[str, Any]:
    """``{pbo, pbo_reason}`` of one symbol: ``rows`` = per-bar returns per combination,
    ``entries`` = its shard entries in grid order, each with ``pbo_sum`` and ``pbo_sumsq``."""
    outcome = stats.pbo(rows, [e[PBO_SUM] for e in entries], [e[PBO_SUMSQ] for e in entries])
    return {"pbo": outcome.pbo, "pbo_reason": outcome.pbo_reason}


def mean_pbo(per_symbol: dict[str, dict[str, Any]]) -> float | None:
    """``overfitting.pbo``: the mean PBO over the symbols that have one (None if none)."""
    values = [float(b["pbo"]) for b in per_symbol.values() if b.get("pbo") is not None]
    return statistics.fmean(values) if values else None


def aggregation_metadata(environment: str, host: str, now: datetime) -> dict[str, Any]:
    """The ``metadata`` block of an aggregated document (engine_version from the shards)."""
    return {"execution_date": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "environment": environment,
            "execution_host": host, "engine_version": None}
