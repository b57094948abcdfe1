"""A local stack for the live-progress and browser tests, with a heavy symbol; the
browser fixtures (Playwright driving the system Chromium) and helpers of the console tests.

``HEAVY_KRW`` at ``1m`` (250,000 synthetic bars, written as a CSV and loaded through
``DATA_DIRS`` like any user data) makes a run that lasts seconds, so a test can watch
progress, disconnect mid-run or cancel from the page. ``PROGRESS_INTERVAL_S=0.2`` lets a
run of a few seconds write several progress steps.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from infra.local.process import StackProcess
from tests.e2e.conftest import STARTUP_DEADLINE_S, STOP_DEADLINE_S

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TIMEOUT_MS = 120_000
HEAVY_SYMBOL = "HEAVY_KRW"
HEAVY_BARS = 250_000
# ~4 s on one free core; the strategy dominates (1000-bar windows, 200 bins)
HEAVY_BODY = {"strategy": "volume_zone_breakout",
              "params": {"volume_window": 1000, "num_bins": 200},
              "symbols": [HEAVY_SYMBOL], "start_date": "2024-01-01", "end_date": "2024-12-31",
              "timeframe": "1m"}
SMALL_BODY = {"strategy": "volume_zone_breakout", "params": {"volume_window": 20},
              "symbols": ["BTC_KRW", "ETH_KRW"], "start_date": "2024-01-01",
              "end_date": "2025-12-31", "timeframe": "1h"}


@dataclass(frozen=True)
class LiveStack:
    api_url: str
    ws_url: str  # ws://host:port
    aws_endpoint: str
    log_path: Path


def write_heavy_csv(directory: Path) -> Path:
    """A seeded random walk of 1-minute bars (not market data)."""
    rng = np.random.default_rng(8)
    close = 50_000 * np.exp(np.cumsum(rng.normal(0, 0.001, HEAVY_BARS)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0, 0.0008, HEAVY_BARS)) * close
    frame = pd.DataFrame({
        "timestamp": pd.date_range("2024-01-01", periods=HEAVY_BARS, freq="1min", tz="UTC")
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "open": open_, "high": np.maximum(open_, close) + spread,
        "low": np.minimum(open_, close) - spread, "close": close,
        "volume": rng.gamma(2.0, 50.0, HEAVY_BARS),
    })
    path = directory / f"{HEAVY_SYMBOL}-1m.csv"
    frame.to_csv(path, index=False, float_format="%.4f")
    return path


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    if os.environ.get("API_URL"):
        pytest.skip("live tests start their own local stack (the WebSocket is local-only)")
    data_dir = tmp_path_factory.mktemp("heavy-data")
    write_heavy_csv(data_dir)
    env = {"WORKERS": "2", "PROGRESS_INTERVAL_S": "0.2", "DATA_DIRS": str(data_dir)}
    for _ in range(3):
        log_path = tmp_path_factory.mktemp("live-stack") / "stack.log"
        stack = _start(log_path, env)
        if stack is not None:
            break
    else:
        pytest.fail(f"local stack lost the race for free ports three times (log {log_path})")
    try:
        yield LiveStack(stack.api_url, stack.api_url.replace("http://", "ws://", 1),
                        stack.aws_endpoint, log_path)
    finally:
        code, in_time = stack.stop(STOP_DEADLINE_S)
        assert in_time and code == 0, f"local stack exited with {code}:\n{stack.tail()}"


def _start(log_path: Path, env: dict[str, str]) -> StackProcess | None:
    """A healthy stack, or None when the free ports picked for it were taken by another
    process before it bound them (other test sessions share this machine): try again."""
    stack = StackProcess(log_path, **env)
    try:
        stack.wait_healthy(STARTUP_DEADLINE_S)
        return stack
    except RuntimeError as exc:
        stack.stop()
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        if any(s in text for s in ("is in use", "Address already in use", "moto did not start")):
            return None
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


@pytest.fixture
def console_errors() -> list[str]:
    """What the page logged as an error (console errors, uncaught exceptions), in order."""
    return []


@pytest.fixture
def page(browser, live_stack: LiveStack, console_errors: list[str]):
    context = browser.new_context(viewport={"width": 1200, "height": 1500})
    page = context.new_page()
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(live_stack.api_url + "/")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()


def by_id(page, testid: str):
    return page.get_by_test_id(testid)


def fill_run(page, symbols: list[str], timeframe: str, start: str, end: str,
             params: dict[str, str] | None = None) -> None:
    by_id(page, "strategy").select_option("volume_zone_breakout")
    by_id(page, "timeframe").select_option(timeframe)
    listed = by_id(page, "symbols").locator("option").all_inner_texts()
    by_id(page, "symbols").select_option([s for s in symbols if s in listed])
    # without /api/data/inventory only the demo symbols are listed: type the others
    page.locator("#extra-symbols").fill(",".join(s for s in symbols if s not in listed))
    by_id(page, "start-date").fill(start)
    by_id(page, "end-date").fill(end)
    for name, value in (params or {}).items():
        page.locator(f"#params input[name={name}]").fill(value)
