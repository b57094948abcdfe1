"""The `backtest` command: talk to the API (submit, status, ...) or run the engine locally.

    backtest submit --strategy volume_zone_breakout --symbols BTC_KRW,ETH_KRW \\
        --start 2024-01-01 --end 2024-12-31 --wait
    backtest status TASK_ID        backtest cancel TASK_ID
    backtest history --limit 20    backtest result TASK_ID --out result.json
    backtest strategies [ls]       backtest strategies push rule.json
    backtest submit --definition rule.json --position '{"stop_loss": {"pct": 2}}' ...
    backtest result TASK_ID --trades-csv trades.csv
    backtest run ...               (local engine, no API; --definition FILE.json too)
    backtest sweep --strategy volume_zone_breakout --symbols BTC_KRW \\
        --grid '{"volume_window":[10,20,40],"top_percentile":[0.1,0.2]}' --wait
    backtest data fetch|import|ls  (market data, see data_cli.py)

Exit codes: 0 success; 1 API error, unreachable API or a task that did not complete;
2 usage error; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from backtest_client import data_cli
from backtest_client.http import ApiError, ApiUnreachable, BacktestClient, WaitTimeout

DEFAULT_PORT = "8000"


def default_api() -> str:
    """``BACKTEST_API_URL``, else the local stack on ``PORT`` (as `make run` uses it)."""
    return (os.environ.get("BACKTEST_API_URL")
            or f"http://localhost:{os.environ.get('PORT') or DEFAULT_PORT}")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"volume_window\": 20}'")
    return value


def _json_file(text: str) -> dict[str, Any]:
    """A JSON object from a file path."""
    try:
        raw = Path(text).read_text(encoding="utf-8")
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {text} ({exc.strerror})") from None
    return _json_object(raw)


def _json_or_file(text: str) -> dict[str, Any]:
    """Inline JSON (``{...}``) or the path of a JSON file."""
    return _json_object(text) if text.lstrip().startswith("{") else _json_file(text)


def _add_strategy_options(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--strategy", help="a built-in or saved strategy's name")
    which.add_argument("--definition", type=_json_file, metavar="FILE.json",
                       help="an inline rule document (docs/rules.md)")
    p.add_argument("--position", type=_json_or_file, default=None, metavar="JSON|FILE",
                   help="stops, take profit, sizing, shared portfolio (docs/positions.md)")


def _symbol_list(text: str) -> list[str]:
    symbols = [s.strip() for s in text.split(",") if s.strip()]
    if not symbols:
        raise argparse.ArgumentTypeError("give at least one symbol, e.g. BTC_KRW,ETH_KRW")
    return symbols


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; global options are accepted before or after the subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--api", default=argparse.SUPPRESS,
                        help="API base URL (env BACKTEST_API_URL; default http://localhost:$PORT,"
                             " PORT defaulting to 8000 as in `make run`)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the raw JSON answer")
    common.add_argument("--token", default=argparse.SUPPRESS,
                        help="bearer token (env BACKTEST_API_TOKEN)")

    parser = argparse.ArgumentParser(prog="backtest", parents=[common],
                                     description="Client of the async backtest API.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("submit", parents=[common], help="submit a backtest (run-async)")
    _add_strategy_options(p)
    p.add_argument("--symbols", required=True, type=_symbol_list, help="comma-separated")
    p.add_argument("--start", required=True, help="YYYY-MM-DD (UTC)")
    p.add_argument("--end", required=True, help="YYYY-MM-DD (UTC, whole day included)")
    p.add_argument("--timeframe", default="1d")
    p.add_argument("--params", type=_json_object, default={}, help="strategy params as JSON")
    p.add_argument("--fee-bps", type=float, default=None)
    p.add_argument("--slippage-bps", type=float, default=None)
    p.add_argument("--idempotency-key", default=None)
    p.add_argument("--wait", action="store_true",
                   help="follow progress until the task ends (WebSocket, else polling)")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait at most")
    p.add_argument("--full", action="store_true",
                   help="with --wait: fetch the full document (default: the summary view)")

    p = sub.add_parser("sweep", parents=[common], help="submit a parameter sweep")
    _add_strategy_options(p)
    p.add_argument("--grid", required=True, type=_json_object,
                   help='values to try as JSON, e.g. \'{"volume_window":[10,20,40]}\'')
    p.add_argument("--symbols", type=_symbol_list, default=["BTC_KRW"], help="comma-separated")
    p.add_argument("--start", default="2024-01-01", help="YYYY-MM-DD (UTC)")
    p.add_argument("--end", default="2024-12-31", help="YYYY-MM-DD (UTC, whole day included)")
    p.add_argument("--timeframe", default="1d")
    p.add_argument("--params", type=_json_object, default={}, help="fixed base params as JSON")
    p.add_argument("--rank-by", default=None, help="default portfolio.sharpe")
    p.add_argument("--max-combinations", type=int, default=None)
    p.add_argument("--walk-forward", type=int, default=None, metavar="K",
                   help="walk-forward validation with K folds (2..20)")
    p.add_argument("--anchored", action="store_true",
                   help="walk-forward: train on every segment before the test segment")
    p.add_argument("--pbo-blocks", type=int, default=None, help="PBO blocks S (even, 4..32)")
    p.add_argument("--idempotency-key", default=None)
    p.add_argument("--wait", action="store_true", help="follow the shards until the sweep ends")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait at most")

    p = sub.add_parser("status", parents=[common], help="status of a task")
    p.add_argument("task_id")
    p = sub.add_parser("cancel", parents=[common], help="cancel a queued or running task")
    p.add_argument("task_id")

    p = sub.add_parser("history", parents=[common], help="your tasks, newest first")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--status", default=None)
    p.add_argument("--strategy", default=None)
    p.add_argument("--cursor", default=None)

    p = sub.add_parser("result", parents=[common], help="the result of a completed run")
    p.add_argument("run_id")
    p.add_argument("--out", type=Path, default=None, help="save the result document here")
    p.add_argument("--trades-csv", type=Path, default=None, metavar="FILE",
                   help="save every trade (the run's portfolio, or --symbol's) as CSV")
    p.add_argument("--symbol", default=None, help="with --trades-csv: that symbol's own trades")
    p.add_argument("--full", action="store_true",
                   help="the full document (signals, curves, every trade); default: summary")

    p = sub.add_parser("strategies", parents=[common],
                       help="built-in and saved strategies (ls, push, show, rm)")
    p.add_argument("action", nargs="?", default="ls", choices=["ls", "push", "show", "rm"])
    p.add_argument("target", nargs="?", default=None,
                   help="push: FILE.json (saved under its name); show/rm: NAME")
    data_cli.add_subcommand(sub, common)
    sub.add_parser("run", help="run the engine locally (see `backtest run --help`)",
                   add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `backtest` console script; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    engine_argv = _engine_argv(args_list)
    if engine_argv is not None:
        from backtest_engine.cli import main as engine_main  # lazy: pandas only when needed

        return int(engine_main(engine_argv) or 0)
    args = build_parser().parse_args(args_list)
    api = getattr(args, "api", None) or default_api()
    token = getattr(args, "token", None) or os.environ.get("BACKTEST_API_TOKEN")
    client = BacktestClient(api, token=token)
    # the hints we print must work when pasted: keep an --api the user gave
    args.cli = f"backtest --api {api}" if getattr(args, "api", None) else "backtest"
    try:
        return _dispatch(client, args, as_json=getattr(args, "json", False))
    except BrokenPipeError:  # `backtest ... | head`: the reader left; not an error
        _silence_stdout()
        return 0
    except ApiUnreachable as exc:
        _fail(f"cannot reach {exc.url} ({exc.reason}) — is `make run` running?")
    except ApiError as exc:
        _fail(f"{exc.status} {exc.detail}")
    except WaitTimeout as exc:
        _fail(f"{exc} (still {exc.last.get('status')}; see `backtest status {exc.task_id}`)")
    except OSError as exc:  # e.g. --out into a missing directory
        _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    return 1


def _engine_argv(argv: list[str]) -> list[str] | None:
    """``["run", ...]`` when the subcommand is `run` (global API options are skipped)."""
    i = 0
    while i < len(argv):
        if argv[i] in ("--api", "--token"):
            i += 2
        elif argv[i] == "--json" or argv[i].startswith(("--api=", "--token=")):
            i += 1
        else:
            break
    return argv[i:] if argv[i : i + 1] == ["run"] else None


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _fail(message: str) -> None:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)  # always one line


def _dispatch(client: BacktestClient, args: argparse.Namespace, as_json: bool) -> int:
    from backtest_client import render  # rich is imported only for commands that print

    out = render.make_console()
    if args.command in ("submit", "sweep"):
        return _submit(client, args, as_json)
    if args.command == "data":
        return data_cli.run(args, client, as_json)
    if args.command == "status":
        doc = client.status(args.task_id)
        if not _emit(doc, as_json):
            render.print_status(out, doc)
    elif args.command == "cancel":
        doc = client.cancel(args.task_id)
        if not _emit(doc, as_json):
            print(f"task {doc.get('task_id', args.task_id)} {doc.get('status', 'cancelled')}")
    elif args.command == "history":
        page = client.history(args.limit, args.cursor, args.strategy, args.status)
        if not _emit(page, as_json):
            out.print(render.history_table(page))
            if page.get("next_cursor"):
                out.print(f"more: backtest history --cursor {page['next_cursor']}")
    elif args.command == "result":
        return _result(client, args, as_json)
    elif args.command == "strategies":
        return _strategies(client, args, as_json, out)
    return 0


def _strategies(client: BacktestClient, args: argparse.Namespace, as_json: bool,
                out: Any) -> int:
    from backtest_client import render

    if args.action == "ls":
        doc = client.strategies()
        if not _emit(doc, as_json):
            out.print(render.strategies_table(doc))
        return 0
    if not args.target:
        _fail(f"backtest strategies {args.action} needs a "
              f"{'FILE.json' if args.action == 'push' else 'NAME'}")
        return 2
    if args.action == "push":
        try:
            document = _json_file(args.target)
        except argparse.ArgumentTypeError as exc:
            _fail(str(exc))
            return 2
        saved = client.put_strategy(str(document.get("name", "")), document)
        if not _emit(saved, as_json):
            print(f"saved {saved['name']} version {saved['version']}")
    elif args.action == "show":
        _emit(client.get_strategy(args.target), True)
    else:
        client.delete_strategy(args.target)
        print(f"deleted {args.target}")
    return 0


def _emit(doc: Any, as_json: bool) -> bool:
    """Print ``doc`` as JSON when asked (orjson, indented); True when printed."""
    if as_json:
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    return as_json


def _submit(client: BacktestClient, args: argparse.Namespace, as_json: bool) -> int:
    from backtest_client import render
    from backtest_client.watch import StoppedWaiting, handle_interrupt, wait_with_progress

    request: dict[str, Any] = {
        **({"strategy": args.strategy} if args.strategy else {"definition": args.definition}),
        "params": args.params,
        "symbols": args.symbols,
        "start_date": args.start,
        "end_date": args.end,
        "timeframe": args.timeframe,
    }
    if getattr(args, "fee_bps", None) is not None:
        request["fee_bps"] = args.fee_bps
    if getattr(args, "slippage_bps", None) is not None:
        request["slippage_bps"] = args.slippage_bps
    if args.position is not None:
        request["position"] = args.position
    sweep = args.command == "sweep"
    if sweep:
        request["grid"] = args.grid
        for field in ("rank_by", "max_combinations", "pbo_blocks"):
            if getattr(args, field) is not None:
                request[field] = getattr(args, field)
        if args.walk_forward is not None:
            request["validation"] = {"walk_forward": {"folds": args.walk_forward,
                                                      "anchored": args.anchored}}
        accepted = client.submit_sweep(request, idempotency_key=args.idempotency_key)
    else:
        accepted = client.submit(request, idempotency_key=args.idempotency_key)
    task_id = str(accepted["task_id"])
    if not args.wait:
        if not _emit(accepted, as_json):
            print(task_id)
        return 0
    if not as_json:
        print(task_id, flush=True)
    try:
        final = wait_with_progress(
            client, task_id, render.make_console(sys.stderr), timeout_s=args.timeout,
            ws_base=os.environ.get("BACKTEST_WS_URL"),
            on_interrupt=lambda console: handle_interrupt(
                client, task_id, sys.stdin, sys.stderr, ask=console.input, cli=args.cli))
    except StoppedWaiting as stopped:
        return stopped.code
    status = final.get("status")
    if status != "completed":
        if as_json:
            _emit(final, True)
        _fail(f"task {task_id} {status}: {final.get('error') or 'no error message'}")
        return 1
    try:
        doc = client.result(task_id, _view(args))  # the summary view unless --full
    except ApiError:
        doc = final.get("result") or {}
    if not _emit(doc, as_json):
        printer = render.print_sweep if sweep else render.print_result
        printer(render.make_console(), doc)
    return 0


def _view(args: argparse.Namespace) -> str | None:
    """The result view the CLI asks for: summary unless ``--full`` (docs/api.md)."""
    return None if getattr(args, "full", False) else "summary"


def _result(client: BacktestClient, args: argparse.Namespace, as_json: bool) -> int:
    from backtest_client import render

    if args.trades_csv is not None:
        raw = client.trades_csv(args.run_id, args.symbol)
        args.trades_csv.write_bytes(raw)
        trades = max(len(raw.splitlines()) - 1, 0)  # minus the header
        print(f"saved {args.trades_csv} ({trades} trades)")
        return 0
    if args.out is not None:
        raw = client.download(args.run_id)
        args.out.write_bytes(raw)
        print(f"saved {args.out} ({len(raw)} bytes)")
        return 0
    doc = client.result(args.run_id, _view(args))
    if not _emit(doc, as_json):
        printer = render.print_sweep if doc.get("kind") == "sweep" else render.print_result
        printer(render.make_console(), doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
