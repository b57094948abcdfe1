"""The web console (docs/console.md, docs/live.md) in a real browser: Playwright driving the system Chromium.

Skipped, with the reason, when no Chromium is installed (`make test` installs the Debian
package `chromium` when apt-get is usable). Screenshots go to pytest's tmp directory;
``UPDATE_DOCS_SCREENSHOT=1`` also writes docs/console.png (the README's picture: the result
view of the run with a stop).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.live.conftest import CHROMIUM, HEAVY_SYMBOL, TIMEOUT_MS, LiveStack, by_id, fill_run

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
    assert table.locator("tr").count() == 4  # header, the shared portfolio, two symbols
    chart = by_id(page, "equity-chart")
    chart.locator("canvas").first.wait_for()
    assert int(chart.get_attribute("data-points")) > 0
    history = by_id(page, "history")
    history.locator("td", has_text="completed").first.wait_for()
    shot = tmp_path / "console-result.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


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


STOP_BODY = {"strategy": "volume_zone_breakout",
             "params": {"volume_window": 100, "top_percentile": 0.05, "breakout_buffer": 0.01,
                        "hold_period_bars": 24},
             "symbols": ["BTC_KRW", "ETH_KRW"], "start_date": "2024-01-01",
             "end_date": "2024-06-30", "timeframe": "1h",
             "position": {"stop_loss": {"pct": 2}, "take_profit": {"pct": 4}}}


@pytest.fixture
def watched_page(browser, live_stack: LiveStack):
    """A page whose console errors, uncaught exceptions and failed requests are recorded
    from before the first request (the favicon included)."""
    context = browser.new_context(viewport={"width": 1200, "height": 1500}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"pageerror {exc}"))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(live_stack.api_url + "/")
    page.wait_for_selector("body[data-ready=true]")
    yield page, problems
    context.close()


def test_given_a_run_with_a_stop_when_its_result_is_opened_then_candles_markers_trades_and_csv(
        watched_page, live_stack: LiveStack, tmp_path: Path):
    import csv

    from tests.e2e.api_calls import call
    from tests.e2e.test_api_flow import wait_terminal

    page, problems = watched_page
    status, _, created = call(live_stack.api_url, "POST", "/api/backtests/run-async", STOP_BODY)
    assert status == 200, created
    task_id = created["task_id"]
    assert wait_terminal(live_stack.api_url, task_id)[-1]["status"] == "completed"
    _, _, summary = call(live_stack.api_url, "GET", f"/api/backtests/{task_id}?view=summary")
    own = summary["symbols"][0]["portfolio"]  # the first symbol is shown first
    trades = own["trade_log"]
    assert trades and {t["exit_reason"] for t in trades} & {"stop_loss", "take_profit"}

    by_id(page, "history").locator("button#history-refresh").click()
    with page.expect_response(lambda r: "/api/candles?" in r.url) as answered:
        by_id(page, "history").locator(f"tr[data-task-id='{task_id}']").click()
    assert answered.value.status == 200
    bars = answered.value.json()
    chart = by_id(page, "price-chart")
    page.wait_for_function("document.querySelector('[data-testid=price-chart]').dataset.markers")
    assert chart.locator("canvas").count() > 0
    assert int(chart.get_attribute("data-candles")) == len(bars["t"]) > 100
    assert int(chart.get_attribute("data-bucket-bars")) == bars["bucket_bars"] == 3
    assert int(chart.get_attribute("data-markers")) == 2 * len(trades)  # an entry and an exit each

    metrics = by_id(page, "result-table")
    assert metrics.locator("tr").count() == 4  # header, the shared portfolio, two symbols
    equity = by_id(page, "equity-chart")
    page.wait_for_function("document.querySelector('[data-testid=equity-chart]').dataset.points")
    assert int(equity.get_attribute("data-points")) == len(summary["portfolio"]["equity_curve"]["t"])

    table = by_id(page, "trade-table")
    assert table.locator("tr").count() == len(trades) + 1
    first = table.locator("tr").nth(1).locator("td").all_inner_texts()
    ordered = sorted(trades, key=lambda t: t["entry_time"])
    assert first[0] == ordered[0]["entry_time"].replace("T", " ").rstrip("Z")
    assert first[4] == ordered[0]["exit_reason"] and first[5] == str(ordered[0]["bars_held"])
    table.locator("th[data-key=pnl]").click()
    lowest = table.locator("tr").nth(1).locator("td").nth(9).inner_text()
    assert float(lowest.replace(",", "")) == pytest.approx(min(t["pnl"] for t in trades), abs=1e-4)
    assert table.get_attribute("data-sort") == "pnl:asc"

    with page.expect_download() as download:
        by_id(page, "trades-csv").click()
    saved = tmp_path / "trades.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(saved.open()))
    assert len(rows) == own["trades"]
    assert rows[0]["entry_time"] == trades[0]["entry_time"]
    assert float(rows[0]["pnl"]) == pytest.approx(trades[0]["pnl"])

    page.screenshot(path=str(tmp_path / "console-result-view.png"), full_page=True)
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":  # the README's picture
        page.locator("#result-card").screenshot(path=str(ROOT / "docs" / "console.png"))

    other = summary["symbols"][1]["portfolio"]["trade_log"]  # the second symbol's own trades
    page.locator("#chart-symbol").select_option("1")
    page.wait_for_function("n => document.querySelector('[data-testid=price-chart]')"
                           ".dataset.markers === String(n)", arg=2 * len(other))
    assert table.locator("tr").count() == len(other) + 1
    assert "ETH_KRW" in page.locator("#price-note").inner_text()
    assert problems == []
    icon = page.request.get(live_stack.api_url + "/favicon.ico")  # what browsers ask without <link>
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/")
    assert page.locator("link[rel=icon]").get_attribute("href") == "favicon.svg"
