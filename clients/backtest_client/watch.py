"""Follow a task with a live progress bar; ask before cancelling on Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from backtest_client.http import BacktestClient

EXIT_INTERRUPTED = 130


def wait_with_progress(
    client: BacktestClient, task_id: str, console: Console, timeout_s: float | None = None
) -> dict[str, Any]:
    """Poll until the task is terminal, drawing stage, percent, elapsed time and ETA.

    Returns the final status document; raises `WaitTimeout` at the deadline and lets
    `KeyboardInterrupt` through (the caller decides whether to cancel).
    """
    columns = (
        TextColumn("[bold]{task.fields[stage]:<20}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        bar_id = bar.add_task(task_id, total=100.0, stage="queued")

        def on_progress(doc: dict[str, Any]) -> None:
            percent = float(doc.get("progress") or 0.0) * 100.0
            stage = doc.get("stage") or doc.get("status") or ""
            if doc.get("shards_total"):  # a sweep or fanned-out run: shards finished
                stage = f"shards {doc.get('shards_done', 0)}/{doc['shards_total']}"
            if doc.get("status") in ("failed", "cancelled"):
                stage = str(doc["status"])
            bar.update(bar_id, completed=percent, stage=stage)

        return client.wait(task_id, on_progress=on_progress, timeout_s=timeout_s)


def handle_interrupt(
    client: BacktestClient,
    task_id: str,
    stdin: TextIO,
    err: TextIO,
    ask: Callable[[str], str] = input,
) -> int:
    """After Ctrl-C: on a terminal ask "Cancel task X? [y/N]" and cancel on yes.

    Without a terminal (scripts, CI) nothing is asked: we stop waiting and say how to
    cancel. Returns the exit code (130, the shell's code for an interrupt).
    """
    if not stdin.isatty():
        print(f"\nstopped waiting; task {task_id} keeps running. "
              f"Cancel it with: backtest cancel {task_id}", file=err)
        return EXIT_INTERRUPTED
    try:
        answer = ask(f"\nCancel task {task_id}? [y/N] ")
    except (EOFError, KeyboardInterrupt):
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        doc = client.cancel(task_id)
        print(f"task {task_id} {doc.get('status', 'cancelled')}", file=err)
    else:
        print(f"task {task_id} keeps running; follow it with: backtest status {task_id}",
              file=err)
    return EXIT_INTERRUPTED
