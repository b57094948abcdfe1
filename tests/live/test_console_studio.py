"""The console's studio views (docs/console.md) in a real browser against the local stack: the
strategy editor (422 at its path, save, run with a stop), compare, and a sweep's PBO badge
and walk-forward table. Every test checks what the page logged as an error.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.e2e.api_calls import call
from tests.e2e.test_api_flow import wait_terminal
from tests.live.conftest import CHROMIUM, LiveStack, by_id, fill_run

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="browser suite skipped: no system Chromium (install it: apt-get install -y chromium)")

# Chromium's own line for a fetch answered 422: expected once per 422 a test provokes
FAILED_422 = "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
NAME = "studio_sma_stop"
ROOT = Path(__file__).resolve().parents[2]


def document(length: int) -> dict:
    """Enter on a close above its SMA; no exit rule, so trades end by the stop (or the data)."""
    return {"name": NAME, "description": "close above its SMA, out by the stop",
            "params": {"len": {"type": "int", "default": 10, "min": 2, "max": 200}},
            "entry": {"all": [{"gt": [{"price": "close"}, {"ind": "sma", "length": length}]}]}}


def selected_text(page) -> str:
    return page.evaluate("() => { const a = document.getElementById('editor-text');"
                         " return a.value.slice(a.selectionStart, a.selectionEnd); }")


def test_given_the_editor_when_a_bad_document_is_fixed_saved_and_run_then_errors_then_a_stop_run(
        page, live_stack: LiveStack, console_errors: list[str]):
    puts: list[str] = []
    page.on("request", lambda r: puts.append(r.url) if r.method == "PUT" else None)
    fill_run(page, ["BTC_KRW"], "1d", "2024-01-01", "2024-12-31")
    editor = by_id(page, "strategy-editor")
    errors = by_id(page, "editor-errors")

    # a JSON syntax error: shown with line and column, no request
    editor.locator("#editor-text").fill('{"name": "x",\n "entry": {"gt": [1, 2],}}')
    by_id(page, "save-strategy").click()
    errors.locator("li").first.wait_for()
    assert errors.inner_text().startswith("JSON syntax error at line 2, column 25:")
    assert puts == []

    # valid JSON, invalid document: the 422's loc as a path, selected in the text
    editor.locator("#editor-text").fill(json.dumps(document(0), indent=2))
    assert editor.locator("#editor-name").input_value() == NAME  # the field follows the text
    by_id(page, "save-strategy").click()
    page.wait_for_function("document.querySelector('[data-testid=editor-errors] li')"
                           "?.dataset.path === 'entry.all[0].gt[1].length'")
    assert errors.locator("li").count() == 1
    assert errors.inner_text().startswith("entry.all[0].gt[1].length: length must be between")
    assert selected_text(page) == '"length": 0'

    # fixed (via the $param): saved, and the API answers the same document
    fixed = {**document(0), "entry": {"all": [{"gt": [{"price": "close"},
                                                     {"ind": "sma", "length": "$len"}]}]}}
    editor.locator("#editor-text").fill(json.dumps(fixed, indent=2))
    by_id(page, "save-strategy").click()
    page.wait_for_function(
        f"document.getElementById('editor-status').textContent.startsWith('Saved {NAME}')")
    assert errors.is_hidden()
    status, _, saved = call(live_stack.api_url, "GET", f"/api/strategies/{NAME}")
    assert status == 200 and saved == fixed
    # the run form lists it now, and the editor offers it
    by_id(page, "strategy").locator(f"option[value={NAME}]").wait_for(state="attached")
    assert editor.locator(f"#editor-example option[value='saved:{NAME}']").count() == 1

    # run with a stop loss: the page follows the task to its result
    editor.locator("#editor-position").fill('{"stop_loss": {"pct": 1}}')
    by_id(page, "run-strategy").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=task-status]').textContent.startsWith('completed')")
    by_id(page, "result-table").locator("td", has_text="BTC_KRW").wait_for()
    task_id = page.locator("#task-id").inner_text()
    status, _, result = call(live_stack.api_url, "GET", f"/api/backtests/{task_id}")
    assert status == 200 and result["definition"] == fixed
    reasons = [t["exit_reason"] for t in result["symbols"][0]["portfolio"]["trade_log"]]
    assert reasons.count("stop_loss") >= 1 and set(reasons) <= {"stop_loss", "end_of_data"}
    assert console_errors == [FAILED_422]  # the one 422 asked for above, nothing else


def test_given_an_example_and_a_grid_when_run_from_the_editor_then_a_sweep_of_its_params(
        page, live_stack: LiveStack, console_errors: list[str]):
    example = json.loads((ROOT / "examples" / "strategies" / "sma_ema_cross.json").read_text())
    fill_run(page, ["BTC_KRW"], "1d", "2024-01-01", "2024-12-31")
    page.locator("#editor-example").select_option("example:sma_ema_cross.json")
    assert json.loads(page.locator("#editor-text").input_value()) == example
    page.locator("#sweep-box summary").click()
    page.locator("#grid").fill('{"fast": [5, 10]}')
    by_id(page, "run-strategy").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=task-status]').textContent.startsWith('completed')")
    page.locator("#leaderboard tr").nth(2).wait_for()
    assert page.locator("#leaderboard tr").count() == 3  # header + two combinations
    task_id = page.locator("#task-id").inner_text()
    status, _, doc = call(live_stack.api_url, "GET", f"/api/backtests/{task_id}")
    assert status == 200 and doc["kind"] == "sweep"
    assert doc["definition"] == example and doc["grid"] == {"fast": [5, 10]}
    assert console_errors == []


def submit_run(stack: LiveStack, symbols: list[str], volume_window: int) -> str:
    body = {"strategy": "volume_zone_breakout", "params": {"volume_window": volume_window},
            "symbols": symbols, "timeframe": "1d", "start_date": "2024-01-01",
            "end_date": "2024-12-31"}
    status, _, created = call(stack.api_url, "POST", "/api/backtests/run-async", body)
    assert status == 200, created
    return created["task_id"]


def headline(doc: dict) -> dict:
    return doc["portfolio"] if len(doc["symbols"]) > 1 else doc["symbols"][0]["portfolio"]


def test_given_finished_runs_when_two_are_compared_then_one_chart_and_one_table(
        page, live_stack: LiveStack, console_errors: list[str]):
    ids = [submit_run(live_stack, ["BTC_KRW", "ETH_KRW"], 20)]
    ids += [submit_run(live_stack, ["BTC_KRW"], w) for w in (10, 30, 40, 50)]
    for task_id in ids:
        assert wait_terminal(live_stack.api_url, task_id)[-1]["status"] == "completed"
    history = by_id(page, "history")
    history.locator("button#history-refresh").click()
    boxes = [history.locator(f"tr[data-task-id='{t}'] input.compare-pick") for t in ids]
    for box in boxes[:4]:
        box.check()
    boxes[4].click()  # a fifth is refused
    message = page.locator("#compare-message")
    message.wait_for()
    assert message.inner_text() == "At most 4 runs can be compared: uncheck one first."
    assert not boxes[4].is_checked()
    for box in boxes[2:4]:
        box.uncheck()
    page.locator("#compare-button").click()

    compare = by_id(page, "compare")
    rows = compare.locator("#compare-table tr")
    rows.nth(2).wait_for()
    assert rows.count() == 3  # header + two runs
    chart = by_id(page, "compare-chart")
    chart.locator("canvas").first.wait_for()
    assert chart.get_attribute("data-series") == "2"
    assert chart.locator(".u-legend .u-series").count() == 3  # x + two runs
    data = chart.evaluate("e => e.plot.data.slice(1).map(s => s.filter(v => v !== null))")
    for row, task_id, series in zip(range(1, 3), ids[:2], data, strict=True):
        status, _, doc = call(live_stack.api_url, "GET", f"/api/backtests/{task_id}?view=summary")
        assert status == 200
        block = headline(doc)
        curve = block["equity_curve"]["equity"]
        assert series[0] == 1 and math.isclose(series[-1], curve[-1] / curve[0], rel_tol=1e-12)
        cells = rows.nth(row).locator("td").all_inner_texts()
        assert cells[1:5] == ["volume_zone_breakout", ", ".join(s["symbol"] for s in doc["symbols"]),
                              "1d", "2024-01-01 … 2024-12-31"]
        assert cells[5:9] == [f"{block['total_return_pct']:.2f}", f"{block['max_drawdown_pct']:.2f}",
                              f"{block['sharpe']:.3f}", str(block["trades"])]
        assert cells[9].startswith(f"{block['final_equity']:.4f} (")
    assert "10000.0000" in rows.nth(1).locator("td").nth(9).inner_text()  # shared: quote currency
    assert console_errors == []


GRID = {"volume_window": [10, 20], "top_percentile": [0.1, 0.2], "num_bins": [10, 20]}


def test_given_a_walk_forward_sweep_then_the_fold_table_pbo_badge_and_heatmap_match_the_api(
        page, live_stack: LiveStack, console_errors: list[str]):
    fill_run(page, ["BTC_KRW"], "1d", "2024-01-01", "2024-12-31")
    page.locator("#sweep-box summary").click()
    page.locator("#grid").fill(json.dumps(GRID))
    page.locator("#wf-folds").fill("2")
    page.locator("#pbo-blocks").fill("8")
    by_id(page, "submit").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=task-status]').textContent.startsWith('completed')")
    table = by_id(page, "walk-forward")
    table.locator("tr[data-fold]").nth(1).wait_for()
    task_id = page.locator("#task-id").inner_text()
    status, _, doc = call(live_stack.api_url, "GET", f"/api/backtests/{task_id}")
    assert status == 200
    wf = doc["walk_forward"]
    assert table.locator("tr[data-fold]").count() == len(wf["folds"]) == 2
    for i, fold in enumerate(wf["folds"]):
        row = table.locator("tr[data-fold]").nth(i)
        cells = row.locator("td")
        assert cells.nth(0).inner_text() == str(fold["fold"])
        for n, part in ((1, fold["train"]), (2, fold["test"])):
            assert (cells.nth(n).get_attribute("data-first"),
                    cells.nth(n).get_attribute("data-last")) == (part["first"], part["last"])
            assert cells.nth(n).inner_text() == f"{part['first'][:10]} … {part['last'][:10]}"
        assert cells.nth(3).inner_text() == ", ".join(f"{k}={fold['best_params'][k]}" for k in GRID)
        assert cells.nth(4).inner_text() == f"{fold['train_score']:.4f}"
        assert cells.nth(5).inner_text() == f"{fold['test_score']:.4f}"
    summary = page.locator("#walk-forward-summary").inner_text()
    assert f"In-sample mean {wf['is_score']:.4f}" in summary
    assert f"out-of-sample mean {wf['oos_score']:.4f}" in summary
    pbo = doc["overfitting"]["pbo"]
    assert pbo is not None  # 366 bars in 8 blocks
    badge = by_id(page, "pbo")
    assert badge.inner_text().startswith(f"PBO {pbo:.2f}: the in-sample winner ranks at or below")
    assert f"in {math.floor(pbo * 100 + 0.5)}% of splits" in badge.inner_text()
    assert float(badge.get_attribute("data-pbo")) == pbo
    dsr = doc["overfitting"]["per_symbol"]["BTC_KRW"]["deflated_sharpe"]
    assert f"BTC_KRW {dsr:.3f}" in page.locator("#deflated-sharpe").inner_text()

    # three grid keys: a heatmap of two chosen ones, each cell the best over the third
    heatmap = page.locator("#heatmap-two")
    page.locator("#heatmap-two-rows").select_option("num_bins")
    page.locator("#heatmap-two-cols").select_option("volume_window")
    heatmap.locator("tr").nth(2).wait_for()
    assert heatmap.locator("tr").nth(0).locator("th").all_inner_texts() == [
        "num_bins \\ volume_window", "10", "20"]
    for r, bins in enumerate(GRID["num_bins"], start=1):
        cells = heatmap.locator("tr").nth(r).locator("td")
        for c, window in enumerate(GRID["volume_window"]):
            best = min((e for e in doc["leaderboard"] if e["params"]["num_bins"] == bins
                        and e["params"]["volume_window"] == window), key=lambda e: e["rank"])
            assert cells.nth(c).inner_text() == f"{best['score']:.3f}"
            assert cells.nth(c).get_attribute("title").startswith(f"rank {best['rank']}: ")
    assert console_errors == []
