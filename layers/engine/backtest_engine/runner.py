"""``run_backtest``: the engine's one entry point (data in → result document out).

The pipeline: candles → strategy masks → the position simulator (each symbol's own
portfolio, and the shared one over every symbol) → the result document."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Protocol

from .errors import NoDataError, ParamsError
from .indicators import IndicatorCache
from .loading import SymbolData, load_symbol
from .plan import RunPlan, run_plan, symbol_bars
from .progress import CancelFn, Progress, ProgressFn, ProgressTracker
from .readers import CandleReader
from .results import document, root_portfolio, symbol_result
from .sim import SymbolBars, pack_bars, simulate_portfolio, simulate_symbol, unpack_bars
from .strategies import Masks, Strategy, parse_params, resolve
from .symbols import normalize_symbol, normalize_timeframe, timeframe_seconds
from .version import ENGINE_VERSION


@dataclass(frozen=True)
class RunSpec:
    """What to run. Dates are UTC days, both included; None = all available data.
    ``fee_bps``/``slippage_bps`` are per side in basis points (5 = 0.05 %)."""

    strategy: str | None
    params: dict = field(default_factory=dict)
    symbols: list[str] = field(default_factory=list)
    start_date: date | None = None
    end_date: date | None = None
    timeframe: str = "1d"
    fee_bps: float = 5.0
    slippage_bps: float = 0.0
    definition: dict | None = None
    position: dict | None = None


def run_backtest(
    spec: RunSpec,
    reader: CandleReader,
    *,
    run_id: str | None = None,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    environment: str = "local",
    execution_host: str | None = None,
    allow_no_data: bool = False,
    summary: bool = False,
    rows_as_json: bool = False,
) -> dict:
    """Run ``spec`` on the candles of ``reader`` and return the result document (with
    ``summary``: its summary view, docs/api.md "Result views", built without the lists
    that view drops — what ``backtest run`` prints as a table). ``rows_as_json``: the
    long lists (signals, performance curves, trade logs) as ``jsontext.JsonRows``, the
    same JSON without their dicts, for a caller that only encodes the document with
    ``jsontext.encode_document`` (``backtest run --json``).

    Progress: ``progress(Progress)`` at every checkpoint: ``loading_data`` 0→0.1,
    ``running_strategy`` 0.1→0.8 (by candles), ``calculating_metrics`` →0.9, with the
    symbols finished so far; ``should_cancel`` is polled after each call.
    Raises ParamsError, DataError, NoDataError, BacktestCancelled. With ``allow_no_data``
    (a one-symbol shard of a fanned-out run) a run where no symbol has candles returns the
    document with ``symbols: []`` and the reasons in ``failed_symbols`` instead.
    """
    started = time.perf_counter()
    plan, results, bars, failed = _execute(spec, reader, progress, should_cancel,
                                           allow_no_data, summary, rows_as_json)
    return _document(spec, plan, results, bars, failed, run_id=run_id,
                     execution_time_s=time.perf_counter() - started,
                     environment=environment, execution_host=execution_host,
                     summary=summary, rows_as_json=rows_as_json)


class Units(Protocol):
    """Where ``run_by_symbol`` keeps each finished symbol's document (the worker: under the
    task's results prefix): ``get`` → the stored one or None, ``put`` stores one."""

    def get(self, symbol: str) -> dict | None: ...

    def put(self, symbol: str, document: dict) -> None: ...


def run_by_symbol(spec: RunSpec, reader: CandleReader, units: Units, *, run_id: str,
                  progress: ProgressFn | None = None, should_cancel: CancelFn | None = None,
                  environment: str = "local", execution_host: str | None = None) -> dict:
    """``run_backtest``'s document, one symbol at a time: each symbol's blocks and packed
    simulator inputs (what ``assemble_fanout`` reads of a ``run_shard`` document) are
    stored in ``units`` as soon as it is finished;
    a symbol found there already (a retry resuming) is not run again. The document is
    then ``assemble_fanout``'s, which equals the unsharded run's. Progress: ``loading_data``
    0, ``running_strategy`` 0.1→0.8 by symbols (and candles within the one running), from
    the finished fraction on when resuming; ``calculating_metrics`` 0.8 for the shared
    portfolio."""
    started = time.perf_counter()
    prepare(spec)  # bad strategy/params fail before any symbol runs
    symbols, _ = _check_spec(spec)
    spec = replace(spec, symbols=symbols)
    tracker = ProgressTracker(progress, should_cancel, symbols_total=len(symbols))
    tracker.force(0.0, "loading_data")
    docs: list[dict | None] = []
    for done, symbol in enumerate(symbols):
        doc = units.get(symbol)
        if doc is None:
            def _tick(p: Progress, done: int = done) -> None:
                share = min(p.fraction / 0.9, 1.0)
                tracker.update(0.1 + 0.7 * (done + share) / len(symbols), "running_strategy")

            _, results, bars, failed = _execute(replace(spec, symbols=[symbol]), reader, _tick,
                                                should_cancel, True)
            # what assemble_fanout reads of a shard (no per-symbol shared portfolio)
            doc = {"symbols": results, "failed_symbols": failed,
                   "sim_inputs": [pack_bars(b) for b in bars],
                   "metadata": {"engine_version": ENGINE_VERSION}}
            units.put(symbol, doc)
        docs.append(doc)
        tracker.symbol_done()
        tracker.update(0.1 + 0.7 * (done + 1) / len(symbols), "running_strategy")
    tracker.force(0.8, "calculating_metrics")
    metadata = {"execution_date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "environment": environment,
                "execution_host": execution_host or socket.gethostname(),
                "engine_version": None}
    document = assemble_fanout(spec, docs, run_id=run_id, metadata=metadata,
                               execution_time_s=time.perf_counter() - started,
                               failure=_no_result)
    if document is None:
        raise NoDataError(no_data_message(symbols, spec.start_date, spec.end_date))
    tracker.force(0.9, "calculating_metrics")
    return document


def _no_result(doc: dict | None) -> str | None:
    """A ``run_shard`` document always has a result (its reasons in ``failed_symbols``)."""
    return None if doc is not None else "no result"


def run_shard(spec: RunSpec, reader: CandleReader, *, run_id: str,
              should_cancel: CancelFn | None = None, environment: str = "local",
              execution_host: str | None = None) -> dict:
    """One symbol of a fanned-out run: its document (``symbols: []`` when it has no
    candles) plus ``sim_inputs``, the packed simulator inputs (bars, masks, ATR) from which
    ``assemble_fanout`` simulates the shared portfolio over every symbol."""
    started = time.perf_counter()
    plan, results, bars, failed = _execute(spec, reader, None, should_cancel, True)
    doc = _document(spec, plan, results, bars, failed, run_id=run_id,
                    execution_time_s=time.perf_counter() - started,
                    environment=environment, execution_host=execution_host)
    return {**doc, "sim_inputs": [pack_bars(b) for b in bars]}


def assemble_fanout(spec: RunSpec, shards: list[dict | None], *, run_id: str,
                    metadata: dict, execution_time_s: float,
                    failure: Callable[[dict | None], str | None]) -> dict | None:
    """The unsharded run's document from one ``run_shard`` document per symbol (request
    order): the symbols' blocks as the shards built them, and the shared portfolio
    simulated once over every symbol's inputs. ``failure(doc)`` says why a shard has no
    result; None when no symbol ran."""
    plan, _ = prepare(spec)
    results: list[dict] = []
    bars: list[SymbolBars] = []
    failed: list[dict] = []
    for symbol, doc in zip(spec.symbols, shards, strict=True):
        reason = failure(doc)
        if reason is not None or doc is None:
            failed.append({"symbol": symbol, "reason": reason or ""})
            continue
        results.extend(doc["symbols"])
        failed.extend(doc["failed_symbols"])
        bars.extend(unpack_bars(p) for p in doc.get("sim_inputs", []))
        metadata = {**metadata, "engine_version": doc["metadata"]["engine_version"]}
    if not results:
        return None
    doc = _document(spec, plan, results, bars, failed, run_id=run_id,
                    execution_time_s=execution_time_s, environment=metadata["environment"],
                    execution_host=metadata["execution_host"])
    return {**doc, "metadata": metadata}


def _execute(spec: RunSpec, reader: CandleReader, progress: ProgressFn | None,
             should_cancel: CancelFn | None, allow_no_data: bool, summary: bool = False,
             rows_as_json: bool = False):
    """Candles → masks → each symbol's own portfolio: (plan, symbol blocks, simulator
    inputs, failed symbols)."""
    plan, strategy = prepare(spec)
    symbols, timeframe = _check_spec(spec)
    tracker = ProgressTracker(progress, should_cancel, symbols_total=len(symbols))
    loaded, failed = _load_all(spec, reader, symbols, timeframe, tracker)
    if not loaded and not allow_no_data:
        raise NoDataError(no_data_message(symbols, spec.start_date, spec.end_date))
    masks = _run_strategies(strategy, plan, loaded, tracker)
    results, bars = [], []
    timeframe_s = timeframe_seconds(timeframe)
    fee, slippage = spec.fee_bps / 1e4, spec.slippage_bps / 1e4
    for done, (data, (m, cache)) in enumerate(zip(loaded, masks, strict=True)):
        tracker.update(0.8 + 0.1 * done / len(loaded), "calculating_metrics")
        sim_input = symbol_bars(data, m, plan, cache)
        own = simulate_symbol(sim_input, plan.position, fee, slippage)
        results.append(symbol_result(data, m, plan, own, timeframe_s, spec.fee_bps,
                                     spec.slippage_bps, summary=summary,
                                     rows_as_json=rows_as_json))
        bars.append(sim_input)
    tracker.force(0.9, "calculating_metrics")
    return plan, results, bars, failed


def _document(spec: RunSpec, plan: RunPlan, results: list[dict], bars: list[SymbolBars],
              failed: list[dict], *, run_id: str | None, execution_time_s: float,
              environment: str, execution_host: str | None, summary: bool = False,
              rows_as_json: bool = False) -> dict:
    """The document, with the shared portfolio simulated over ``bars`` (every symbol)."""
    timeframe = normalize_timeframe(spec.timeframe)
    portfolio = None
    if bars:
        shared = simulate_portfolio(bars, plan.position, spec.fee_bps / 1e4,
                                    spec.slippage_bps / 1e4)
        portfolio = root_portfolio(shared, results, timeframe_seconds(timeframe),
                                   spec.fee_bps, spec.slippage_bps, summary=summary,
                                   rows_as_json=rows_as_json)
    days = [s["data"] for s in results if s.get("data")]
    return document(
        run_id=run_id or uuid.uuid4().hex, plan=plan, requested_params=spec.params or {},
        start=spec.start_date or min((date.fromisoformat(d["first"][:10]) for d in days),
                                     default=None),
        end=spec.end_date or max((date.fromisoformat(d["last"][:10]) for d in days),
                                 default=None),
        timeframe=timeframe, symbols=results, portfolio=portfolio, failed=failed,
        execution_time_s=execution_time_s, environment=environment,
        execution_host=execution_host or socket.gethostname(),
    )


def prepare(spec: RunSpec) -> tuple[RunPlan, Strategy]:
    """The validated plan (strategy, params, position) and the runnable strategy."""
    ref, strategy = resolve(spec.strategy, spec.definition)
    params = parse_params(strategy, spec.params)
    return run_plan(ref, params, spec.position), strategy


def no_data_message(symbols: list[str], start: date | None, end: date | None) -> str:
    """``No data found for symbols ['BTC_KRW'] in range 2024-01-01 ~ 2024-01-31``
    (Python repr of the list; an open end is written ``earliest`` / ``latest``)."""
    first = start.isoformat() if start else "earliest"
    last = end.isoformat() if end else "latest"
    return f"No data found for symbols {symbols!r} in range {first} ~ {last}"


def _check_spec(spec: RunSpec) -> tuple[list[str], str]:
    errors: list[dict] = []
    if not spec.symbols:
        errors.append({"loc": ["symbols"], "msg": "at least one symbol is required",
                       "type": "too_short"})
    symbols: list[str] = []
    for i, raw in enumerate(spec.symbols):
        try:
            symbols.append(normalize_symbol(raw))
        except ParamsError as exc:
            errors.append({**exc.errors[0], "loc": ["symbols", i]})
    timeframe = "1d"
    try:
        timeframe = normalize_timeframe(spec.timeframe)
    except ParamsError as exc:
        errors.extend(exc.errors)
    if spec.start_date and spec.end_date and spec.start_date > spec.end_date:
        errors.append({"loc": ["start_date"], "type": "value_error",
                       "msg": "start_date must be before or equal to end_date"})
    for name in ("fee_bps", "slippage_bps"):
        value = getattr(spec, name)
        if not isinstance(value, int | float) or not 0 <= value < 10_000:
            errors.append({"loc": [name], "msg": "must be a number in [0, 10000)",
                           "type": "value_error"})
    if errors:
        raise ParamsError(errors)
    return list(dict.fromkeys(symbols)), timeframe


def _load_all(spec, reader, symbols, timeframe, tracker):
    """SymbolData of every symbol with candles, and ``[{symbol, reason}]`` of the others."""
    loaded: list[SymbolData] = []
    failed: list[dict] = []
    tracker.force(0.0, "loading_data")
    for done, symbol in enumerate(symbols):
        def _tick(done: int = done) -> None:
            tracker.update(0.1 * done / len(symbols), "loading_data")

        outcome = load_symbol(reader, symbol, timeframe, spec.start_date, spec.end_date, _tick)
        if isinstance(outcome, str):
            failed.append({"symbol": symbol, "reason": outcome})
            tracker.symbol_done()  # finished: nothing to run
        else:
            loaded.append(outcome)
        tracker.update(0.1 * (done + 1) / len(symbols), "loading_data")
    return loaded, failed


def _run_strategies(strategy: Strategy, plan: RunPlan, loaded: list[SymbolData],
                    tracker) -> list[tuple[Masks, IndicatorCache]]:
    """Masks (and the indicator cache) per symbol; progress 0.1→0.8 by candles processed
    over all symbols."""
    total = max(sum(len(d.candles) for d in loaded), 1)
    state = {"done": 0}

    def _tick(bars: int) -> None:
        state["done"] += bars
        tracker.update(0.1 + 0.7 * min(state["done"] / total, 1.0), "running_strategy")

    tracker.force(0.1, "running_strategy")
    out = []
    for data in loaded:
        before = state["done"]
        cache = IndicatorCache(data.candles, data.identity)
        out.append((strategy.masks(data.candles, plan.params, _tick, cache), cache))
        state["done"] = before + len(data.candles)
        tracker.symbol_done()
        tracker.update(0.1 + 0.7 * state["done"] / total, "running_strategy")
    tracker.force(0.8, "running_strategy")
    return out
