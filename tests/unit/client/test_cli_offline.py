"""The `backtest` CLI against canned answers: output, exit codes, one-line errors."""

from __future__ import annotations

import io
import json
import sys
import types
from pathlib import Path

import pytest
from client_fakes import Canned, FakeApi, result_doc, status_doc

from backtest_client.cli import main
from backtest_client.http import BacktestClient
from backtest_client.watch import handle_interrupt

TASK = "t-9"
ACCEPTED = {"task_id": TASK, "status": "queued", "created_at": "2025-01-01T00:00:00Z"}
SUBMIT = ["submit", "--strategy", "volume_zone_breakout", "--symbols", "BTC_KRW,ETH_KRW",
          "--start", "2024-01-01", "--end", "2024-12-31"]


class TtyInput(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("backtest_client.http.time.sleep", lambda _s: None)
    monkeypatch.delenv("BACKTEST_API_URL", raising=False)


def test_given_valid_args_when_submitting_then_prints_the_task_id(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str],
) -> None:
    fake_api.add("POST", "/api/backtests/run-async", Canned(200, ACCEPTED))

    code = main(["--api", fake_api.url, *SUBMIT, "--params", '{"volume_window": 5}',
                 "--fee-bps", "10"])

    assert (code, capsys.readouterr().out) == (0, f"{TASK}\n")
    body = json.loads(fake_api.requests[-1].body)
    assert body["symbols"] == ["BTC_KRW", "ETH_KRW"]
    assert (body["params"], body["fee_bps"], body["timeframe"]) == ({"volume_window": 5}, 10.0,
                                                                    "1d")


def test_given_wait_when_task_completes_then_prints_per_symbol_table(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str],
) -> None:
    fake_api.add("POST", "/api/backtests/run-async", Canned(200, ACCEPTED))
    fake_api.add("GET", f"/api/backtests/status/{TASK}",
                 Canned(200, status_doc(TASK, "running", 0.4, "running_strategy"),
                        {"Retry-After": "1"}),
                 Canned(200, status_doc(TASK, "completed", 1.0, "saving_results")))
    fake_api.add("GET", f"/api/backtests/{TASK}", Canned(200, result_doc(TASK)))

    code = main(["--api", fake_api.url, *SUBMIT, "--wait"])

    out = capsys.readouterr().out
    assert code == 0
    assert "total signals: 5" in out
    portfolio_row, signal_row = [line for line in out.splitlines() if "BTC_KRW" in line]
    assert "3.21" in portfolio_row and "1.23" in portfolio_row
    assert "3" in signal_row and "50.0" in signal_row
    assert "signal stats (gross, per signal; drawdown in points)" in out
    assert "Max DD %" not in out
    assert fake_api.requests[-1].path == f"/api/backtests/{TASK}?view=summary"


def test_given_wait_when_task_fails_then_error_line_and_exit_1(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str],
) -> None:
    fake_api.add("POST", "/api/backtests/run-async", Canned(200, ACCEPTED))
    fake_api.add("GET", f"/api/backtests/status/{TASK}", Canned(200, status_doc(
        TASK, "failed", 0.1, "loading_data", error="No data found for symbols [X_KRW]")))

    code = main(["--api", fake_api.url, *SUBMIT, "--wait"])

    assert code == 1
    assert capsys.readouterr().err.strip().endswith(
        f"error: task {TASK} failed: No data found for symbols [X_KRW]")


def test_given_unknown_task_when_status_then_one_line_404(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str],
) -> None:
    fake_api.add("GET", "/api/backtests/status/abc", Canned(404, {"detail": "Task not found: abc"}))

    code = main(["status", "abc", "--api", fake_api.url])

    assert (code, capsys.readouterr().err) == (1, "error: 404 Task not found: abc\n")


def test_given_completed_task_when_cancelling_then_400_message_and_exit_1(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str],
) -> None:
    message = "Cannot cancel completed task. Only queued or running tasks can be cancelled."
    fake_api.add("DELETE", f"/api/backtests/tasks/{TASK}", Canned(400, {"detail": message}))

    code = main(["--api", fake_api.url, "cancel", TASK])

    assert (code, capsys.readouterr().err) == (1, f"error: 400 {message}\n")


def test_given_nothing_listening_when_calling_then_one_line_and_exit_1(
    closed_port_url: str, capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--api", closed_port_url, "strategies"])

    err = capsys.readouterr().err
    assert code == 1
    assert err == (f"error: cannot reach {closed_port_url} (connection refused)"
                   " — is `make run` running?\n")


@pytest.mark.parametrize("bad", ["{not json", "[1, 2]"])
def test_given_bad_params_json_when_submitting_then_usage_error_exit_2(bad: str) -> None:
    with pytest.raises(SystemExit) as info:
        main([*SUBMIT, "--params", bad])

    assert info.value.code == 2


def test_given_out_file_when_fetching_result_then_document_is_saved(
    fake_api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    raw = json.dumps(result_doc(TASK)).encode()
    fake_api.add("GET", f"/api/backtests/{TASK}/download", Canned(200, raw))
    out = tmp_path / "r.json"

    code = main(["--api", fake_api.url, "result", TASK, "--out", str(out)])

    assert code == 0
    assert json.loads(out.read_bytes())["version"] == "1.3.0"
    assert str(out) in capsys.readouterr().out


def test_given_history_when_listing_then_table_and_next_cursor(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str],
) -> None:
    item = {"task_id": TASK, "status": "completed", "strategy": "volume_long_candle",
            "symbols": ["BTC_KRW"], "created_at": "2025-01-01T00:00:00Z", "progress": 1.0}
    fake_api.add("GET", "/api/backtests/history", Canned(200, {"items": [item],
                                                               "next_cursor": "c2"}))

    code = main(["--api", fake_api.url, "history", "--limit", "1"])

    out = capsys.readouterr().out
    assert code == 0 and TASK in out and "volume_long_candle" in out
    assert "backtest history --cursor c2" in out


def test_given_no_terminal_when_interrupted_then_no_question_and_how_to_cancel(
    fake_api: FakeApi,
) -> None:
    err = io.StringIO()

    def never_ask(_prompt: str) -> str:
        raise AssertionError("must not ask without a terminal")

    code = handle_interrupt(BacktestClient(fake_api.url), TASK, io.StringIO(), err, never_ask)

    assert code == 130
    assert f"backtest cancel {TASK}" in err.getvalue()
    assert fake_api.requests == []


@pytest.mark.parametrize(("answer", "cancelled"), [("y", True), ("", False), ("no", False)])
def test_given_terminal_when_interrupted_then_cancels_only_on_yes(
    fake_api: FakeApi, answer: str, cancelled: bool,
) -> None:
    fake_api.add("DELETE", f"/api/backtests/tasks/{TASK}", Canned(200, {**ACCEPTED,
                                                                        "status": "cancelled"}))
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return answer

    code = handle_interrupt(BacktestClient(fake_api.url), TASK, TtyInput(), io.StringIO(), ask)

    assert code == (130 if cancelled else None)  # None: keep waiting, the bar keeps moving
    assert prompts == [f"\nCancel task {TASK}? [y/N] "]
    assert [r.method for r in fake_api.requests] == (["DELETE"] if cancelled else [])


def test_given_run_subcommand_when_called_then_delegates_to_the_engine_cli(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[list[str]] = []
    fake = types.ModuleType("backtest_engine.cli")
    fake.main = lambda argv: seen.append(list(argv)) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "backtest_engine.cli", fake)

    assert main(["--api", "http://x", "run", "--strategy", "s"]) == 0
    assert seen == [["run", "--strategy", "s"]]


def test_given_an_api_option_when_interrupted_without_a_terminal_then_the_hint_keeps_it(
    fake_api: FakeApi,
) -> None:
    err = io.StringIO()
    cli = f"backtest --api {fake_api.url}"

    code = handle_interrupt(BacktestClient(fake_api.url), TASK, io.StringIO(), err, cli=cli)

    assert code == 130
    assert f"Cancel it with: backtest --api {fake_api.url} cancel {TASK}" in err.getvalue()


def test_given_port_when_no_api_url_then_the_default_api_uses_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backtest_client.cli import default_api

    monkeypatch.setenv("PORT", "9123")
    assert default_api() == "http://localhost:9123"
    monkeypatch.setenv("BACKTEST_API_URL", "https://api.example.com")
    assert default_api() == "https://api.example.com"


def test_given_wait_without_a_websocket_then_it_says_so_and_polls(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str],
) -> None:
    fake_api.add("POST", "/api/backtests/run-async", Canned(200, ACCEPTED))
    fake_api.add("GET", f"/api/backtests/status/{TASK}",
                 Canned(200, status_doc(TASK, "completed", 1.0, "completed")))
    fake_api.add("GET", f"/api/backtests/{TASK}", Canned(200, result_doc(TASK)))

    code = main(["--api", fake_api.url, *SUBMIT, "--wait"])

    err = capsys.readouterr().err
    assert code == 0
    assert "following over WebSocket ws://" in err
    assert "polling the status instead" in err


SWEEP_DOC = {
    "kind": "sweep", "run_id": TASK, "strategy": "volume_zone_breakout", "timeframe": "1d",
    "start_date": "2024-01-01", "end_date": "2024-12-31", "symbols": ["BTC_KRW"],
    "grid": {"volume_window": [5, 10]}, "rank_by": "portfolio.sharpe", "combinations": 2,
    "leaderboard": [{"rank": 1, "params": {"volume_window": 10}, "score": 1.5,
                     "per_symbol": {}}],
    "overfitting": {"trials": 2, "pbo": 0.62, "per_symbol": {
        "BTC_KRW": {"sharpe_per_bar": 0.05, "deflated_sharpe": 0.4, "pbo": 0.62}}},
    "walk_forward": {"folds": [
        {"fold": 1, "train": {"first": "2024-01-01T00:00:00Z", "last": "2024-04-30T00:00:00Z"},
         "test": {"first": "2024-05-01T00:00:00Z", "last": "2024-08-31T00:00:00Z"},
         "best_params": {"volume_window": 10}, "train_score": 2.25, "test_score": -0.75}],
        "is_score": 2.25, "oos_score": -0.75, "efficiency": -0.3333},
    "failed_symbols": [],
}


def test_given_walk_forward_when_sweeping_with_wait_then_folds_and_pbo_reading_are_printed(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str],
) -> None:
    fake_api.add("POST", "/api/sweeps/run-async", Canned(200, {**ACCEPTED, "kind": "sweep"}))
    fake_api.add("GET", f"/api/backtests/status/{TASK}",
                 Canned(200, status_doc(TASK, "completed", 1.0, "saving_results")))
    fake_api.add("GET", f"/api/backtests/{TASK}", Canned(200, SWEEP_DOC))

    code = main(["--api", fake_api.url, "sweep", "--strategy", "volume_zone_breakout",
                 "--grid", '{"volume_window": [5, 10]}', "--walk-forward", "3", "--anchored",
                 "--pbo-blocks", "8", "--wait"])

    out = capsys.readouterr().out
    assert code == 0, out
    body = json.loads(fake_api.requests[0].body)
    assert body["validation"] == {"walk_forward": {"folds": 3, "anchored": True}}
    assert body["pbo_blocks"] == 8
    assert ("PBO 0.62: the best in-sample combination is likely to rank below the median "
            "out of sample") in out
    fold = next(line for line in out.splitlines() if "2024-05-01 .. 2024-08-31" in line)
    assert "2.2500" in fold and "-0.7500" in fold and "10" in fold
    assert "deflated Sharpe 0.400, PBO 0.62" in out
    assert out.index("Leaderboard") < out.index("Walk-forward")  # the fold table at the end


def test_given_a_multi_symbol_result_when_shown_then_the_root_portfolio_heads_with_first_trades(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str],
) -> None:
    doc = result_doc(TASK)
    trade = {"symbol": "ETH_KRW", "entry_time": "2024-02-01T00:00:00Z", "entry_price": 10.5,
             "exit_time": "2024-02-03T00:00:00Z", "exit_price": 9.75, "exit_reason": "stop_loss",
             "return_pct": -7.142857}
    doc["portfolio"] = {"final_equity": 9841.5, "total_return_pct": -1.586,
                        "buy_and_hold_return_pct": 12.5, "max_drawdown_pct": 4.25, "trades": 7,
                        "skipped_entries": 3, "trade_log": [trade] * 7}
    fake_api.add("GET", f"/api/backtests/{TASK}", Canned(200, doc))

    assert main(["--api", fake_api.url, "result", TASK]) == 0

    out = capsys.readouterr().out
    assert ("portfolio (all symbols, one cash pool): final equity 9841.50   total return -1.59 %"
            "   buy & hold 12.50 %   max drawdown 4.25 %   trades 7   skipped entries 3") in out
    assert "First trades (5 of 7)" in out
    trade_rows = [line for line in out.splitlines() if "stop_loss" in line]
    assert len(trade_rows) == 5 and "2024-02-01T00:00:00Z" in trade_rows[0]
    assert "-7.14" in trade_rows[0]
    assert fake_api.requests[-1].path == f"/api/backtests/{TASK}?view=summary"


def test_given_full_when_result_then_the_full_view_is_asked(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str],
) -> None:
    fake_api.add("GET", f"/api/backtests/{TASK}", Canned(200, result_doc(TASK)))
    assert main(["--api", fake_api.url, "result", TASK, "--full"]) == 0
    assert fake_api.requests[-1].path == f"/api/backtests/{TASK}"
