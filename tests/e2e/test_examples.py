"""The usage examples in examples/ run against the real local stack (fixture `api_url`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(command: list[str], api_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "API_URL": api_url, "MAX_POLLS": "150"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=200,
                          stdin=subprocess.DEVNULL)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")),
                    reason="needs curl, jq and bash")
def test_given_curl_example_when_run_then_total_signals_match_the_result(api_url: str) -> None:
    proc = run_example(["bash", str(EXAMPLES / "curl_poll.sh")], api_url)

    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    task_id = lines[0].removeprefix("task_id: ").strip()
    total_signals = int(lines[-1])
    assert total_signals >= 0
    assert any(line.startswith("completed") for line in lines)
    result = get_json(f"{api_url}/api/backtests/{task_id}")
    assert result["total_signals"] == total_signals
    assert {s["symbol"] for s in result["symbols"]} == {"BTC_KRW", "ETH_KRW"}


def test_given_async_example_when_run_then_two_backtests_complete(api_url: str) -> None:
    proc = run_example([sys.executable, str(EXAMPLES / "async_client.py")], api_url)

    assert proc.returncode == 0, proc.stderr
    found = re.findall(r"^(\S+) (\S+) (\S+) total_signals=(\d+)$", proc.stdout, re.MULTILINE)
    assert len(found) == 2
    assert {strategy for _, strategy, _, _ in found} == {"volume_zone_breakout",
                                                         "volume_long_candle"}
    for task_id, _, _, signals in found:
        assert get_json(f"{api_url}/api/backtests/{task_id}")["total_signals"] == int(signals)


def test_given_the_websocket_example_then_it_follows_to_completed(api_url: str) -> None:
    if os.environ.get("API_URL"):
        pytest.skip("the local stack serves /ws/backtest/{id}; a deployment has its own URL")
    proc = run_example([sys.executable, str(EXAMPLES / "ws_follow.py")], api_url)

    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    task_id = lines[0].removeprefix("task_id: ")
    messages = [line.split() for line in lines[1:-1]]
    assert [int(m[0]) for m in messages] == list(range(1, len(messages) + 1))
    assert messages[-1][1:3] == ["completed", "completed"] and messages[-1][3] == "1.0"
    assert lines[-1] == f"result: /api/backtests/{task_id}"


def test_given_the_readme_websocket_snippet_when_run_then_it_follows_to_completed(
        api_url: str, tmp_path: Path) -> None:
    if os.environ.get("API_URL"):
        pytest.skip("the local stack serves /ws/backtest/{id}; a deployment has its own URL")
    readme = (EXAMPLES.parent / "README.md").read_text()
    (snippet,) = [block for block in re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
                  if "async def follow" in block]
    host = api_url.removeprefix("http://")
    (tmp_path / "follow.py").write_text(snippet.replace("localhost:8000", host))
    body = json.dumps({"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"],
                       "start_date": "2024-01-01", "end_date": "2024-06-30"}).encode()
    request = urllib.request.Request(f"{api_url}/api/backtests/run-async", data=body,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        task_id = json.loads(resp.read())["task_id"]

    proc = run_example([sys.executable, str(tmp_path / "follow.py"), task_id], api_url)

    assert proc.returncode == 0, proc.stderr
    messages = [line.split() for line in proc.stdout.strip().splitlines()]
    assert [int(m[0]) for m in messages] == list(range(1, len(messages) + 1))
    assert messages[-1][1:] == ["completed", "completed", "1.0"]


def test_given_the_sample_csv_then_the_engine_cli_runs_it() -> None:
    script = Path(sys.executable).with_name("backtest")
    proc = subprocess.run([str(script), "run", "--strategy", "volume_zone_breakout", "--csv",
                           str(EXAMPLES / "data" / "BTC_KRW-1d.csv"), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["symbols"][0]["symbol"] == "BTC_KRW" and doc["symbols"][0]["data"]["rows"] == 366
