"""The web console (SPEC §11) in a real browser: Playwright driving the system Chromium.

Skipped, with the reason, when no Chromium is installed (`make test` installs the Debian
package `chromium` when apt-get is usable). Screenshots go to pytest's tmp directory;
``UPDATE_DOCS_SCREENSHOT=1`` also writes docs/console.png (the README's picture).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.live.conftest import CHROMIUM, HEAVY_SYMBOL, by_id, fill_run

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="browser suite skipped: no system Chromium (install it: apt-get install -y chromium)")


def test_given_the_console_when_a_backtest_is_submitted_then_progress_result_and_chart(
        page, tmp_path: Path):
    fill_run(page, ["BTC_KRW", "ETH_KRW"], "1h", "2024-01-01", "2025-12-31",
             {"volume_window": "20"})
    by_id(page, "submit").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=progress]').getAttribute('aria-valuenow') === '100'")
    assert by_id(page, "task-status").inner_text().startswith("completed")
    assert "WebSocket" in page.locator("#live-mode").inner_text()
    table = by_id(page, "result-table")
    table.locator("td", has_text="ETH_KRW").wait_for()
    assert table.locator("tr").count() == 3  # header + two symbols
    chart = by_id(page, "equity-chart")
    chart.locator("canvas").first.wait_for()
    assert int(chart.get_attribute("data-points")) > 0
    history = by_id(page, "history")
    history.locator("td", has_text="completed").first.wait_for()
    shot = tmp_path / "console-result.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        page.screenshot(path=str(ROOT / "docs" / "console.png"), full_page=True)


def test_given_a_heavy_run_when_cancel_is_clicked_then_the_page_shows_cancelled(
        page, tmp_path: Path):
    fill_run(page, [HEAVY_SYMBOL], "1m", "2024-01-01", "2024-12-31",
             {"volume_window": "1000", "num_bins": "200"})
    by_id(page, "submit").click()
    status = by_id(page, "task-status")
    page.wait_for_function(
        "document.querySelector('[data-testid=task-status]').textContent.startsWith('running')")
    by_id(page, "cancel").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=task-status]').textContent.startsWith('cancelled')")
    assert float(by_id(page, "progress").get_attribute("aria-valuenow")) < 100
    assert "Task cancelled by user" in page.locator("#eta").inner_text()
    assert by_id(page, "cancel").is_disabled()
    page.screenshot(path=str(tmp_path / "console-cancelled.png"), full_page=True)
    assert status.inner_text().startswith("cancelled")


def test_given_bad_params_when_submitted_then_the_422_names_the_field(page):
    fill_run(page, ["BTC_KRW"], "1d", "2024-01-01", "2024-12-31", {"volume_window": "0"})
    page.locator("#params input[name=volume_window]").evaluate("e => e.removeAttribute('min')")
    by_id(page, "submit").click()
    error = by_id(page, "error")
    error.wait_for()
    text = error.inner_text()
    assert "Invalid input (422)" in text and "params.volume_window" in text


def test_given_a_token_then_runs_and_history_belong_to_its_owner(page):
    from tests.e2e.test_api_flow import bearer

    page.locator("#token").fill(bearer("carol")["authorization"].split(" ", 1)[1])
    page.locator("#token").dispatch_event("change")
    fill_run(page, ["BTC_KRW"], "1d", "2024-01-01", "2024-06-30")
    by_id(page, "submit").click()
    # the WebSocket carries ?token= too: carol's task is found, not closed with 4404
    page.wait_for_function(
        "document.querySelector('[data-testid=task-status]').textContent.startsWith('completed')")
    assert "WebSocket" in page.locator("#live-mode").inner_text()
    task_id = page.locator("#task-id").inner_text()
    history = by_id(page, "history")
    history.locator(f"tr[data-task-id='{task_id}']").wait_for()
    page.locator("#token").fill(bearer("dave")["authorization"].split(" ", 1)[1])
    page.locator("#token").dispatch_event("change")
    history.locator(f"tr[data-task-id='{task_id}']").wait_for(state="detached")


GRID = {"volume_window": [10, 20], "top_percentile": [0.1, 0.2, 0.3]}


def test_given_a_sweep_then_its_leaderboard_and_heatmap_are_shown(page):
    import json

    fill_run(page, ["BTC_KRW"], "1d", "2024-01-01", "2024-12-31")
    page.locator("#sweep-box summary").click()
    page.locator("#grid").fill(json.dumps(GRID))
    by_id(page, "submit").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=task-status]').textContent.startsWith('completed')")
    assert "shards 1/1" in by_id(page, "task-status").inner_text()
    board = page.locator("#leaderboard tr")
    board.nth(6).wait_for()
    assert board.count() == 7  # header + 6 combinations
    ranks = [board.nth(i).locator("td").first.inner_text() for i in range(1, 7)]
    assert ranks == ["1", "2", "3", "4", "5", "6"]
    heatmap = page.locator("#heatmap")
    assert heatmap.locator("tr").count() == 3 and heatmap.locator("td").count() == 6

    def rgb(cell) -> list[int]:
        text = cell.evaluate("e => getComputedStyle(e).backgroundColor")
        return [int(v) for v in text[text.index("(") + 1:-1].split(",")[:3]]

    red, green, _ = rgb(heatmap.locator("td[title='rank 1']"))
    assert green > red  # best = green
    red, green, _ = rgb(heatmap.locator("td[title='rank 6']"))
    assert red > green  # worst = red
    assert page.locator("#plain-result").is_hidden()


def test_given_a_conflict_then_the_409_detail_is_shown(page):
    import json

    page.route("**/api/backtests/run-async", lambda route: route.fulfill(
        status=409, content_type="application/json",
        body=json.dumps({"detail": "Idempotency-Key reused with another body"})))
    fill_run(page, ["BTC_KRW"], "1d", "2024-01-01", "2024-12-31")
    by_id(page, "submit").click()
    error = by_id(page, "error")
    error.wait_for()
    assert error.inner_text() == "Conflict (409)\nIdempotency-Key reused with another body"


def test_given_an_unknown_task_in_history_then_not_found_is_shown(page):
    import json

    page.route("**/api/backtests/history*", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({"items": [{
            "task_id": "gone-1", "status": "running", "strategy": "volume_zone_breakout",
            "symbols": ["BTC_KRW"], "timeframe": "1d", "start_date": "2024-01-01",
            "end_date": "2024-12-31", "progress": 0.5, "created_at": "2024-01-01T00:00:00Z",
            "finished_at": None, "error": None, "total_signals": None}],
            "next_cursor": None})))
    by_id(page, "history").locator("button#history-refresh").click()
    by_id(page, "history").locator("tr[data-task-id='gone-1']").click()
    error = by_id(page, "error")
    error.wait_for()  # the real server closes the WebSocket with 4404
    assert error.inner_text() == "Not found (404)\nTask not found: gone-1"
