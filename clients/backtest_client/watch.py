"""Follow a task with a live progress bar; ask before cancelling on Ctrl-C."""

from __future__ import annotations

import threading
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

from backtest_client.http import ApiError, BacktestClient
from backtest_client.live import follow

EXIT_INTERRUPTED = 130


class StoppedWaiting(Exception):
    """The user stopped waiting (Ctrl-C); ``code`` is the exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"stopped waiting ({code})")
        self.code = code


def wait_with_progress(
    client: BacktestClient, task_id: str, console: Console, timeout_s: float | None = None,
    *, on_interrupt: Callable[[Console], int | None] | None = None,
    ws_base: str | None = None,
) -> dict[str, Any]:
    """Follow the task (WebSocket, else polling; says which) drawing stage, percent,
    elapsed time and ETA; return the final status document.

    The following runs in a thread, so on Ctrl-C the bar keeps moving while
    ``on_interrupt`` asks what to do: it returns None to keep waiting or an exit code
    (raised as StoppedWaiting). Without ``on_interrupt`` KeyboardInterrupt propagates.
    Raises `WaitTimeout` at the deadline.
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
            if int(doc.get("attempt") or 0) > 1:  # a retry says so (docs/operations.md)
                stage = f"{stage} (attempt {doc['attempt']})"
            if doc.get("status") in ("failed", "cancelled"):
                stage = str(doc["status"])
            bar.update(bar_id, completed=percent, stage=stage)

        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["doc"] = follow(client, task_id, on_progress, timeout_s, ws_base,
                                        say=lambda line: bar.console.print(line, style="dim"))
            except BaseException as exc:  # handed to the main thread
                outcome["error"] = exc

        worker = threading.Thread(target=run, name=f"follow-{task_id}", daemon=True)
        worker.start()
        wait_for_follower(worker, lambda: None if on_interrupt is None
                          else on_interrupt(bar.console), on_interrupt is not None)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["doc"]


def wait_for_follower(worker: Any, interrupted: Callable[[], int | None],
                      catch: bool = True) -> None:
    """Join ``worker``; on Ctrl-C (while it keeps running) call ``interrupted``: None =
    keep waiting, a code = StoppedWaiting(code). ``catch`` False lets Ctrl-C through."""
    while worker.is_alive():
        try:
            worker.join(0.1)
        except KeyboardInterrupt:
            if not catch:
                raise
            code = interrupted()
            if code is not None:
                raise StoppedWaiting(code) from None


def handle_interrupt(
    client: BacktestClient,
    task_id: str,
    stdin: TextIO,
    err: TextIO,
    ask: Callable[[str], str] = input,
    cli: str = "backtest",
) -> int | None:
    """After Ctrl-C: on a terminal ask "Cancel task X? [y/N]"; yes cancels (exit 130),
    anything else keeps waiting (None). Without a terminal (scripts, CI) nothing is asked:
    we stop waiting (130) and say how to cancel. ``cli`` is the command prefix for the
    hints, with any ``--api`` the user gave, so they can be pasted as they are.
    """
    if not stdin.isatty():
        print(f"\nstopped waiting; task {task_id} keeps running. "
              f"Cancel it with: {cli} cancel {task_id}", file=err)
        return EXIT_INTERRUPTED
    try:
        answer = ask(f"\nCancel task {task_id}? [y/N] ")
    except (EOFError, KeyboardInterrupt):
        print(f"\nstopped waiting; task {task_id} keeps running. "
              f"Follow it with: {cli} status {task_id}", file=err)
        return EXIT_INTERRUPTED
    if answer.strip().lower() not in ("y", "yes"):
        print(f"still waiting for task {task_id} (Ctrl-C again to stop)", file=err)
        return None
    try:
        doc = client.cancel(task_id)
    except ApiError as exc:  # it finished while we asked
        print(f"task {task_id} not cancelled: {exc.detail}", file=err)
        return EXIT_INTERRUPTED
    print(f"task {task_id} {doc.get('status', 'cancelled')}", file=err)
    return EXIT_INTERRUPTED
