"""The `backtest` CLI as a subprocess against the real local stack (fixture `api_url`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CANCEL_COMPLETED = ("error: 400 Cannot cancel completed task. "
                    "Only queued or running tasks can be cancelled.")


def backtest(*args: str, timeout_s: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the console script (or the module when the script is not installed)."""
    script = Path(sys.executable).with_name("backtest")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "backtest_client.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True,
                          timeout=timeout_s, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def waited(api_url: str) -> tuple[str, subprocess.CompletedProcess[str]]:
    """Given a two-symbol backtest submitted with --wait: (task id, the finished process)."""
    proc = backtest("--api", api_url, "submit", "--strategy", "volume_zone_breakout",
                    "--symbols", "BTC_KRW,ETH_KRW", "--start", "2024-01-01",
                    "--end", "2024-12-31", "--timeframe", "1d", "--wait", "--timeout", "150")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[0].strip(), proc


def test_given_wait_when_submitting_then_completes_with_a_per_symbol_table(
    waited: tuple[str, subprocess.CompletedProcess[str]],
) -> None:
    task_id, proc = waited
    assert task_id
    assert "total signals:" in proc.stdout
    rows = [line for line in proc.stdout.splitlines() if "_KRW" in line]
    assert any("BTC_KRW" in r for r in rows) and any("ETH_KRW" in r for r in rows)
    if "API_URL" not in os.environ:  # the local stack serves the WebSocket (docs/live.md)
        assert "following over WebSocket ws://" in proc.stderr
        assert "polling" not in proc.stderr


def test_given_json_status_piped_into_head_then_no_broken_pipe(
    api_url: str, waited: tuple[str, subprocess.CompletedProcess[str]],
) -> None:
    task_id, _ = waited
    script = Path(sys.executable).with_name("backtest")
    proc = subprocess.run(f"'{script}' --api {api_url} --json status {task_id} | head -n 1",
                          shell=True, capture_output=True, text=True, timeout=60,
                          executable="/bin/bash")
    assert proc.stdout.strip() == "{"
    assert "Broken pipe" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_given_completed_task_when_status_then_shows_completed(
    api_url: str, waited: tuple[str, subprocess.CompletedProcess[str]],
) -> None:
    task_id, _ = waited

    proc = backtest("--api", api_url, "status", task_id)

    assert proc.returncode == 0, proc.stderr
    assert "completed" in proc.stdout and "100.0 %" in proc.stdout


def test_given_completed_task_when_history_then_it_is_listed(
    api_url: str, waited: tuple[str, subprocess.CompletedProcess[str]],
) -> None:
    task_id, _ = waited

    table = backtest("--api", api_url, "history", "--limit", "100", "--status", "completed")
    raw = backtest("--api", api_url, "history", "--limit", "100", "--json")

    assert table.returncode == 0, table.stderr
    assert "History" in table.stdout
    assert task_id in [item["task_id"] for item in json.loads(raw.stdout)["items"]]


def test_given_completed_task_when_result_out_then_file_is_the_document(
    api_url: str, waited: tuple[str, subprocess.CompletedProcess[str]], tmp_path: Path,
) -> None:
    task_id, _ = waited
    out = tmp_path / "result.json"

    proc = backtest("--api", api_url, "result", task_id, "--out", str(out))

    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["version"] == "1.3.0" and doc["run_id"] == task_id
    assert {s["symbol"] for s in doc["symbols"]} == {"BTC_KRW", "ETH_KRW"}


def test_given_completed_task_when_cancelling_then_400_line_and_exit_1(
    api_url: str, waited: tuple[str, subprocess.CompletedProcess[str]],
) -> None:
    task_id, _ = waited

    proc = backtest("--api", api_url, "cancel", task_id)

    assert proc.returncode == 1
    assert proc.stderr.strip() == CANCEL_COMPLETED


def test_given_unknown_task_when_status_then_404_line_and_exit_1(api_url: str) -> None:
    proc = backtest("--api", api_url, "status", "no-such-task")

    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: 404 Task not found: no-such-task"


def test_given_strategies_when_listing_then_both_are_shown(api_url: str) -> None:
    proc = backtest("--api", api_url, "strategies")

    assert proc.returncode == 0, proc.stderr
    assert "volume_zone_breakout" in proc.stdout and "volume_long_candle" in proc.stdout


def test_given_nothing_listening_when_calling_then_one_line_and_exit_1() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    proc = backtest("--api", f"http://127.0.0.1:{port}", "history")

    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith(f"error: cannot reach http://127.0.0.1:{port} "
                                  "(connection refused)")


def test_given_bad_params_json_when_submitting_then_usage_error_exit_2() -> None:
    proc = backtest("submit", "--strategy", "volume_zone_breakout", "--symbols", "BTC_KRW",
                    "--start", "2024-01-01", "--end", "2024-12-31", "--params", "{oops")

    assert proc.returncode == 2
    assert "--params" in proc.stderr


def test_given_a_grid_when_sweeping_with_wait_then_shards_and_a_leaderboard_are_shown(
    api_url: str,
) -> None:
    proc = backtest("--api", api_url, "sweep", "--strategy", "volume_zone_breakout",
                    "--symbols", "BTC_KRW,ETH_KRW", "--start", "2024-01-01",
                    "--end", "2024-12-31", "--rank-by", "portfolio.total_return_pct",
                    "--grid", '{"volume_window":[10,20,40],"top_percentile":[0.1,0.2]}',
                    "--wait", "--timeout", "150")
    assert proc.returncode == 0, proc.stderr
    assert "shards 2/2" in proc.stderr  # the live bar counts finished shards
    assert "Leaderboard by mean portfolio.total_return_pct (6 combinations)" in proc.stdout
    rows = [line.strip("│ ").split("│") for line in proc.stdout.splitlines()
            if line.startswith("│")]
    assert [row[0].strip() for row in rows] == ["1", "2", "3", "4", "5", "6"]
    scores = [float(row[3]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert "deflated Sharpe" in proc.stdout


def test_given_walk_forward_when_sweeping_with_wait_then_the_fold_table_and_pbo_are_shown(
    api_url: str,
) -> None:
    proc = backtest("--api", api_url, "sweep", "--strategy", "volume_zone_breakout",
                    "--symbols", "BTC_KRW,ETH_KRW", "--start", "2024-01-01",
                    "--end", "2024-12-31", "--grid", '{"volume_window":[10,20]}',
                    "--walk-forward", "3", "--anchored", "--pbo-blocks", "8",
                    "--wait", "--timeout", "150")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.index("Leaderboard") < out.index("Walk-forward")
    folds = [line for line in out.splitlines() if line.startswith("│")
             and "2024-01-01 .." in line and line.split("│")[1].strip() in "123"]
    assert len(folds) == 3  # anchored: every fold trains from the first bar
    assert "PBO " in out and "out of sample" in out and "efficiency" in out
