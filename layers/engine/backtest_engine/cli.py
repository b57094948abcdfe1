"""Command line: ``backtest run --strategy NAME (--csv FILE ... | --data-dir DIR --symbols A,B)``.

``main(["run", ...])`` returns the exit status: 0 success, 2 bad input (one line on stderr).
``python -m backtest_engine.cli run ...`` does the same.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sys
from datetime import date
from pathlib import Path

from .errors import EngineError
from .formats import infer_timeframe, load_csv, to_parquet_layout
from .jsontext import encode_chunks
from .readers import LocalDirReader, MemoryReader
from .runner import RunSpec, run_backtest
from .strategies import registry
from .symbols import normalize_symbol, normalize_timeframe

EXIT_OK, EXIT_BAD_INPUT = 0, 2


class _BadInput(Exception):
    """Anything the user must fix; printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit
        raise _BadInput(message)


class _CsvReader(MemoryReader):
    """MemoryReader whose ``describe`` names the CSV file each key came from."""

    def __init__(self, objects: dict[str, bytes], origin: dict[str, str]):
        super().__init__(objects)
        self.origin = origin

    def describe(self, key: str) -> str:
        """The CSV path the key was converted from."""
        return self.origin.get(key, key)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (starting with ``run``); print the result; return the status."""
    # A document is up to ~10⁶ objects and no reference cycle: the cyclic collector's
    # passes over them cost ~10 % of a 200,000-bar run and free nothing. Off for the run,
    # restored after (main is also called in-process).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(argv)
    finally:
        if collecting:
            gc.enable()


def _run(argv: list[str] | None) -> int:
    try:
        args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
        spec, reader = _spec_and_reader(args)
        # the table needs only the summary view; --json prints the whole document, its
        # long lists written as JSON from their columns (jsontext.JsonRows, no dicts)
        doc = run_backtest(spec, reader, environment="cli", summary=not args.json,
                           rows_as_json=args.json)
    except (_BadInput, EngineError, OSError) as exc:
        message = " ".join(str(exc).split())
        print(f"backtest run: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:  # compact orjson: 200,000 bars are ~70 MB of JSON (~110 MB indented)
        _write_chunks(encode_chunks(doc, newline=True))
    else:
        print(render_table(doc))
    return EXIT_OK


def _write_chunks(chunks: list[bytes]) -> None:
    """To stdout as bytes (no 70 MB decode) when it has a binary buffer."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(b"".join(chunks).decode())
        return
    sys.stdout.flush()
    buffer.writelines(chunks)
    buffer.flush()


def _parser() -> _Parser:
    parser = _Parser(prog="backtest", description="Run backtests locally.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one strategy over CSV files or a data directory")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--strategy", choices=sorted(registry()), help="a built-in strategy")
    which.add_argument("--definition", type=_json_file, metavar="FILE.json",
                       help="a rule document (docs/rules.md)")
    run.add_argument("--position", type=_json_or_file, default=None, metavar="JSON|FILE",
                     help="stops, take profit, sizing, shared portfolio (docs/positions.md)")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", nargs="+", metavar="FILE", help="one symbol per CSV file")
    source.add_argument("--data-dir", metavar="DIR", help="{SYMBOL}/{TF}/{YEAR}.parquet tree")
    run.add_argument("--symbols", help="comma-separated symbols (with --data-dir)")
    run.add_argument("--symbol", help="symbol of the single --csv file (default: file stem)")
    run.add_argument("--start", type=_day, help="first UTC day, YYYY-MM-DD (default: all)")
    run.add_argument("--end", type=_day, help="last UTC day, included (default: all)")
    run.add_argument("--timeframe", help="1m … 1w (default: inferred for CSV, 1d otherwise)")
    run.add_argument("--params", type=_json_object, default={}, help='JSON, e.g. {"num_bins":10}')
    run.add_argument("--fee-bps", type=float, default=5.0, help="fee per side, bps (default 5)")
    run.add_argument("--slippage-bps", type=float, default=0.0, help="slippage per side, bps")
    run.add_argument("--json", action="store_true", help="print the whole result document as compact JSON (`| jq .` indents it)")
    return parser


def _spec_and_reader(args: argparse.Namespace):
    if args.data_dir:
        if not args.symbols or args.symbol:
            raise _BadInput("--data-dir needs --symbols A,B (and no --symbol)")
        if not Path(args.data_dir).is_dir():
            raise _BadInput(f"--data-dir {args.data_dir}: not a directory")
        symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
        reader = LocalDirReader(args.data_dir)
        timeframe = args.timeframe or "1d"
    else:
        if args.symbols:
            raise _BadInput("--symbols goes with --data-dir; use --symbol with one --csv")
        symbols, timeframe, reader = _csv_reader(args.csv, args.symbol, args.timeframe)
    spec = RunSpec(strategy=args.strategy, params=args.params, symbols=symbols,
                   start_date=args.start, end_date=args.end, timeframe=timeframe,
                   fee_bps=args.fee_bps, slippage_bps=args.slippage_bps,
                   definition=args.definition, position=args.position)
    return spec, reader


def _csv_reader(paths: list[str], symbol: str | None, timeframe: str | None):
    """Convert the CSV files into an in-memory Parquet layout (same path as the service)."""
    if symbol and len(paths) > 1:
        raise _BadInput("--symbol works with a single --csv file")
    objects: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    symbols: list[str] = []
    frames = {}
    for path in paths:
        df = load_csv(path)
        name = normalize_symbol(symbol or re.split(r"[-.]", Path(path).name, maxsplit=1)[0])
        if name in frames:
            raise _BadInput(f"{path}: symbol {name} given twice")
        frames[name] = (path, df)
        symbols.append(name)
    found = {infer_timeframe(df) for _p, df in frames.values()} if not timeframe else set()
    if len(found) > 1:
        raise _BadInput(f"CSV files have different timeframes {sorted(found)}; use --timeframe")
    timeframe = normalize_timeframe(timeframe or found.pop())
    for name, (path, df) in frames.items():
        layout = to_parquet_layout(df, name, timeframe)
        objects.update(layout)
        origin.update(dict.fromkeys(layout, str(path)))
    return symbols, timeframe, _CsvReader(objects, origin)


SIGNAL_STATS_TITLE = "signal stats (gross, per signal; drawdown in points)"


def _headline(doc: dict) -> dict | None:
    """The fee-aware portfolio a run is judged by (docs/engine.md): the root block of a
    multi-symbol run (one cash pool), else the only symbol's own."""
    if doc.get("portfolio"):
        return doc["portfolio"]
    return doc["symbols"][0]["portfolio"] if len(doc["symbols"]) == 1 else None


def render_table(doc: dict) -> str:
    """A plain-text summary of a result document or of its summary view: the headline (percent, with
    buy and hold), one portfolio line per symbol, the first trades, then the signal
    statistics labelled as gross per-signal figures."""
    head = (f"{doc['strategy']} {doc['timeframe']} {doc['start_date']} ~ {doc['end_date']}"
            f"  signals={doc['total_signals']}  time={doc['execution_time']:.3f}s")
    lines = [head]
    top = _headline(doc)
    if top is not None:
        lines.append(
            f"portfolio: final equity {top['final_equity']:.2f}  total return "
            f"{top['total_return_pct']:.2f} %  buy & hold {top['buy_and_hold_return_pct']:.2f} %"
            f"  max drawdown {top['max_drawdown_pct']:.2f} %  trades {top['trades']}"
            f"  skipped entries {top['skipped_entries']}")
    cols = ("symbol", "rows", "trades", "total_ret%", "b&h%", "max_dd%", "sharpe")
    lines += ["per-symbol portfolio (fee-aware)", "".join(f"{c:>12}" for c in cols)]
    for s in doc["symbols"]:
        p = s["portfolio"]
        sharpe = "-" if p["sharpe"] is None else f"{p['sharpe']:.3f}"
        cells = (s["symbol"], s["data"]["rows"], p["trades"], f"{p['total_return_pct']:.3f}",
                 f"{p['buy_and_hold_return_pct']:.3f}", f"{p['max_drawdown_pct']:.3f}", sharpe)
        lines.append("".join(f"{c!s:>12}" for c in cells))
    trades = (top or {}).get("trade_log") or []
    if trades:
        lines.append(f"first trades ({min(5, len(trades))} of {top['trades']})")
        for t in trades[:5]:
            lines.append(f"  {t['symbol']}  {t['entry_time']} @ {t['entry_price']:.4f} -> "
                         f"{t['exit_time']} @ {t['exit_price']:.4f}  {t['exit_reason']}  "
                         f"{t['return_pct']:.2f} %")
    cols = ("symbol", "signals", "win_rate%", "avg_ret%", "max_dd_pts")
    lines += [SIGNAL_STATS_TITLE, "".join(f"{c:>12}" for c in cols)]
    for s in doc["symbols"]:
        count = len(s["signals"]) if "signals" in s else s["total_signals"]
        cells = (s["symbol"], count, f"{s['win_rate'] * 100:.1f}",
                 f"{s['avg_return']:.4f}", f"{s['max_drawdown']:.4f}")
        lines.append("".join(f"{c!s:>12}" for c in cells))
    lines += [f"failed: {f['symbol']}: {f['reason']}" for f in doc["failed_symbols"]]
    return "\n".join(lines)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _json_file(path: str) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path} ({exc.strerror})") from None
    return _json_object(text)


def _json_or_file(text: str) -> dict:
    """Inline JSON (``{...}``) or the path of a JSON file."""
    return _json_object(text) if text.lstrip().startswith("{") else _json_file(text)


if __name__ == "__main__":
    sys.exit(main())
