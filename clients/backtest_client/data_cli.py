"""``backtest data fetch | import | ls``: market data into the storage layout (docs/data.md).

    backtest data fetch --exchange upbit --symbols BTC_KRW --timeframe 1h --since 2024-01-01
    backtest data import candles.csv --symbol BTC_KRW --timeframe 1d
    backtest data ls                  # the API's inventory (--dir DIR / --bucket NAME: storage)

Fetch and import write ``./data`` by default (``--out DIR``) or an S3 bucket (``--bucket``,
``--prefix data/``; boto3 honours ``AWS_ENDPOINT_URL``). Exit codes: 0 done; 1 the exchange
or the data failed (one line on stderr; only complete year files were written); 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

DEFAULT_OUT = "data"


def add_subcommand(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``data`` and its three subcommands on the CLI's subparsers."""
    data = sub.add_parser("data", parents=[common], help="market data: fetch, import, ls")
    commands = data.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")

    p = commands.add_parser("fetch", parents=[common], help="candles from an exchange (ccxt)")
    p.add_argument("--exchange", required=True, choices=("upbit", "bithumb", "binance"))
    p.add_argument("--symbols", required=True, help="comma-separated, e.g. BTC_KRW,KRW-ETH")
    p.add_argument("--timeframe", required=True, help="1m 3m 5m 15m 30m 1h 4h 1d 1w")
    p.add_argument("--since", required=True, type=_day, help="first UTC day, YYYY-MM-DD")
    p.add_argument("--until", type=_day, default=None,
                   help="last UTC day, included (default: up to the last closed bar)")
    p.add_argument("--api-base", default=None,
                   help="replace the exchange's REST base URL (env BACKTEST_EXCHANGE_API_BASE)")
    p.add_argument("--max-retries", type=int, default=5, help="per request (429, 5xx, network)")
    p.add_argument("--backoff-s", type=float, default=1.0,
                   help="first retry delay, doubled each retry (capped at 30 s)")
    _add_target(p)

    p = commands.add_parser("import", parents=[common], help="a CSV file into the layout")
    p.add_argument("file", help="CSV with timestamp,open,high,low,close,volume")
    p.add_argument("--symbol", required=True)
    p.add_argument("--timeframe", required=True)
    _add_target(p)

    p = commands.add_parser("ls", parents=[common],
                            help="stored data (the API's inventory, or --dir / --bucket)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--dir", default=None, help="a local layout directory")
    where.add_argument("--bucket", default=None, help="an S3 bucket (with --prefix)")
    p.add_argument("--prefix", default="data/")


def _add_target(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", default=None, help=f"directory (default ./{DEFAULT_OUT})")
    where.add_argument("--bucket", default=None, help="S3 bucket instead of a directory")
    p.add_argument("--prefix", default="data/", help="key prefix in --bucket (default data/)")


def run(args: argparse.Namespace, client: Any, as_json: bool) -> int:
    """Run ``backtest data ...``; ingestion errors are one line on stderr and exit 1."""
    from botocore.exceptions import BotoCoreError, ClientError

    from backtest_ingest.errors import IngestError

    try:
        if args.data_command == "fetch":
            return _fetch(args, as_json)
        if args.data_command == "import":
            return _import(args, as_json)
        return _ls(args, client, as_json)
    except IngestError as exc:
        message = str(exc)
    except (BotoCoreError, ClientError) as exc:  # --bucket: no credentials, no such bucket
        message = f"S3: {exc}"
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return 1


def _store(args: argparse.Namespace) -> Any:
    from backtest_core.datastore import LocalDataStore, S3DataStore

    if args.bucket:
        import boto3

        return S3DataStore(boto3.client("s3"), args.bucket, args.prefix)
    return LocalDataStore(getattr(args, "out", None) or getattr(args, "dir", None) or DEFAULT_OUT)


def _fetch(args: argparse.Namespace, as_json: bool) -> int:
    from backtest_ingest.errors import IngestError
    from backtest_ingest.exchanges import ExchangeClient, RetryPolicy
    from backtest_ingest.fetch import FetchPlan, fetch

    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    try:
        plan = FetchPlan.build(symbols, args.timeframe, args.since, args.until, datetime.now(UTC))
    except ValueError as exc:  # bad symbol or timeframe (the engine's ParamsError)
        raise IngestError(str(exc)) from None
    api_base = args.api_base or os.environ.get("BACKTEST_EXCHANGE_API_BASE") or None
    retry = RetryPolicy(max_retries=max(0, args.max_retries), backoff_s=max(0.0, args.backoff_s))
    client = ExchangeClient(args.exchange, api_base=api_base, retry=retry)
    store = _store(args)
    with _ProgressBars() as bars:
        reports = fetch(plan, client, store, progress=bars)
    if as_json:
        print(json.dumps({"exchange": args.exchange, "timeframe": plan.timeframe,
                          "store": store.label, "symbols": [asdict(r) for r in reports]},
                         indent=2))
        return 0
    for r in reports:
        span = f"{r.first} .. {r.last}" if r.rows else "no candles in the window"
        print(f"{r.symbol} ({r.market_id}): {r.rows} rows {span}; {r.requests} request(s), "
              f"{r.fetched_rows} rows fetched, {r.duplicates} duplicate(s) merged; "
              f"wrote {', '.join(r.files) or 'nothing (up to date)'} in {store.label}")
        for gap in r.gaps:
            print(f"  gap: {gap.missing_bars} bar(s) missing between {gap.after} and {gap.before}")
    return 0


def _import(args: argparse.Namespace, as_json: bool) -> int:
    from backtest_ingest.importer import import_csv

    store = _store(args)
    report = import_csv(args.file, args.symbol, args.timeframe, store)
    if as_json:
        print(json.dumps({"store": store.label, **asdict(report)}, indent=2))
    else:
        print(f"{report.symbol} {report.timeframe}: {report.rows} rows into "
              f"{', '.join(report.files)} in {store.label}")
    return 0


def _ls(args: argparse.Namespace, client: Any, as_json: bool) -> int:
    if args.dir or args.bucket:
        from backtest_core.datastore import inventory

        doc = inventory(_store(args)).model_dump(mode="json")
    else:
        doc = client.inventory()
    if as_json:
        print(json.dumps(doc, indent=2))
        return 0
    from rich.table import Table

    from backtest_client import render

    table = Table(title="Stored market data")
    for name in ("Symbol", "Timeframe", "First", "Last", "Rows", "Source"):
        table.add_column(name, justify="right" if name == "Rows" else "left")
    for item in doc.get("items") or []:
        table.add_row(*(str(item.get(k)) if item.get(k) is not None else "-"
                        for k in ("symbol", "timeframe", "first", "last", "rows", "source")))
    render.make_console().print(table)
    return 0


class _ProgressBars:
    """One rich progress bar per symbol, on stderr (stdout stays for the summary/JSON); only
    on a terminal, so that a failure piped to a log is exactly one line."""

    def __enter__(self) -> _ProgressBars:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

        self._progress = Progress("[bold]{task.description}", BarColumn(), TaskProgressColumn(),
                                  "{task.completed:.0f}/{task.total:.0f} bars",
                                  TimeRemainingColumn(), console=Console(file=sys.stderr),
                                  transient=False, disable=not sys.stderr.isatty())
        self._tasks: dict[str, Any] = {}
        self._totals: dict[str, float] = {}
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def start(self, symbol: str, total_bars: float) -> None:
        self._totals[symbol] = max(total_bars, 1e-9)
        self._tasks[symbol] = self._progress.add_task(symbol, total=self._totals[symbol])

    def advance(self, symbol: str, bars: float) -> None:
        self._progress.advance(self._tasks[symbol], bars)

    def finish(self, symbol: str) -> None:
        self._progress.update(self._tasks[symbol], completed=self._totals[symbol])


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None
