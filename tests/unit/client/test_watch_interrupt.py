"""Ctrl-C during --wait: the prompt is asked while the follower keeps updating the bar."""

from __future__ import annotations

import io
import signal
import threading

import pytest
from rich.console import Console

from backtest_client import watch
from backtest_client.http import BacktestClient


def test_given_ctrl_c_then_the_bar_keeps_moving_while_asking_and_waiting_resumes(monkeypatch):
    asked = threading.Event()
    answered = threading.Event()
    updates: list[float] = []

    def fake_follow(client, task_id, on_progress, timeout_s, ws_base, say):
        say("following over WebSocket ws://test")
        on_progress({"status": "running", "progress": 0.2, "stage": "running_strategy"})
        signal.raise_signal(signal.SIGINT)  # the user presses Ctrl-C (main thread)
        assert asked.wait(10)
        on_progress({"status": "running", "progress": 0.6, "stage": "running_strategy"})
        updates.append(0.6)  # delivered while the question is still open
        answered.set()
        on_progress({"status": "completed", "progress": 1.0, "stage": "completed"})
        return {"status": "completed", "progress": 1.0}

    def on_interrupt(console):
        asked.set()
        assert answered.wait(10), "the follower stopped while we were asking"
        return None  # "no": keep waiting

    monkeypatch.setattr(watch, "follow", fake_follow)
    console = Console(file=io.StringIO(), force_terminal=False)
    final = watch.wait_with_progress(BacktestClient("http://unused"), "t-1", console,
                                     on_interrupt=on_interrupt)
    assert final["status"] == "completed" and updates == [0.6]
    assert "following over WebSocket" in console.file.getvalue()


def test_given_ctrl_c_and_yes_then_waiting_stops_with_the_code(monkeypatch):
    release = threading.Event()

    def fake_follow(client, task_id, on_progress, timeout_s, ws_base, say):
        signal.raise_signal(signal.SIGINT)
        release.wait(10)
        return {"status": "cancelled"}

    monkeypatch.setattr(watch, "follow", fake_follow)
    with pytest.raises(watch.StoppedWaiting) as stopped:
        watch.wait_with_progress(BacktestClient("http://unused"), "t-1",
                                 Console(file=io.StringIO()), on_interrupt=lambda c: 130)
    release.set()
    assert stopped.value.code == 130
