"""Ctrl-C during --wait: the prompt is asked while the follower keeps running (the bar
keeps moving); "no" resumes waiting, an exit code stops it."""

from __future__ import annotations

import threading

import pytest

from backtest_client.watch import StoppedWaiting, wait_for_follower


class CtrlCOnce:
    """A follower thread whose first join is interrupted, as Ctrl-C does in the main thread."""

    def __init__(self, thread: threading.Thread):
        self.thread = thread
        self.interrupted = False

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float) -> None:
        if not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        self.thread.join(timeout)


def test_given_ctrl_c_then_the_follower_runs_while_asking_and_waiting_resumes():
    asked, progressed = threading.Event(), threading.Event()
    seen: list[float] = []

    def follow() -> None:
        assert asked.wait(10)
        seen.append(0.6)  # an update that arrives while the question is open
        progressed.set()

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()

    def ask() -> None:
        asked.set()
        assert progressed.wait(10), "the follower stopped while we were asking"
        return None  # "no": keep waiting

    wait_for_follower(CtrlCOnce(thread), ask)
    assert seen == [0.6] and not thread.is_alive()


def test_given_ctrl_c_and_an_exit_code_then_waiting_stops():
    release = threading.Event()
    thread = threading.Thread(target=lambda: release.wait(10), daemon=True)
    thread.start()
    with pytest.raises(StoppedWaiting) as stopped:
        wait_for_follower(CtrlCOnce(thread), lambda: 130)
    release.set()
    assert stopped.value.code == 130


def test_given_no_handler_then_ctrl_c_propagates():
    release = threading.Event()
    thread = threading.Thread(target=lambda: release.wait(10), daemon=True)
    thread.start()
    with pytest.raises(KeyboardInterrupt):
        wait_for_follower(CtrlCOnce(thread), lambda: None, catch=False)
    release.set()
