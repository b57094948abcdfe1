"""Result views (docs/api.md "Result views"): ?view=summary and /trades.csv, through the
real handlers with moto behind them."""

from __future__ import annotations

import csv
import io

from backtest_core.usecases.views import SUMMARY_MAX_TRADES, TRADE_COLUMNS, summary_document

BODY = {"strategy": "volume_zone_breakout", "params": {"volume_window": "10"},
        "symbols": ["BTC_KRW", "ETH_KRW"], "start_date": "2024-01-01", "end_date": "2024-06-30",
        "timeframe": "1h"}


def _trade(symbol: str, i: int) -> dict:
    return {"symbol": symbol, "entry_time": f"2024-01-01T{i % 24:02d}:00:00Z", "entry_price": 100.5,
            "exit_time": f"2024-01-02T{i % 24:02d}:00:00Z", "exit_price": 101.25,
            "exit_reason": "take_profit", "bars_held": 24, "quantity": 0.5,
            "entry_notional": 50.25, "fees": 0.05, "pnl": 0.325, "return_pct": 0.6467662}


def _block(symbol: str | None, trades: int) -> dict:
    log = [_trade(symbol or ("BTC_KRW" if i % 2 else "ETH_KRW"), i) for i in range(trades)]
    return {"total_return_pct": 1.5, "max_drawdown_pct": 3.25, "final_equity": 1015.0,
            "skipped_entries": 2, "equity_curve": {"t": ["2024-01-01T00:00:00Z"],
                                                   "equity": [1000.0]}, "trade_log": log}


def _document(root_trades: int = 1200) -> dict:
    symbols = [{"symbol": s, "signals": [{"date": "2024-01-01"}] * 3,
                "performance_curve": [{"date": "2024-01-01", "timestamp": "2024-01-01T00:00:00Z"}],
                "portfolio": _block(s, 4)} for s in ("BTC_KRW", "ETH_KRW")]
    return {"version": "1.3.0", "strategy": "volume_zone_breakout", "total_signals": 6,
            "symbols": symbols, "portfolio": _block(None, root_trades)}


def _completed(api, svc, clock, document: dict) -> str:
    task_id = api.call("POST", "/api/backtests/run-async", BODY).body["task_id"]
    record = svc.tasks.claim(task_id, clock(), 60)
    key, size = svc.results.put(task_id, record.attempt, document)
    svc.tasks.complete(task_id, record.attempt, key, {"total_signals": 6, "result_bytes": size},
                       clock())
    return task_id


def test_given_a_document_when_summarised_then_bulky_lists_go_and_long_trade_logs_are_cut():
    doc = _document(root_trades=SUMMARY_MAX_TRADES + 1)
    summary = summary_document(doc)
    assert all("signals" not in s and "performance_curve" not in s for s in summary["symbols"])
    assert [s["total_signals"] for s in summary["symbols"]] == [3, 3]
    root = summary["portfolio"]
    assert len(root["trade_log"]) == SUMMARY_MAX_TRADES and root["trade_log_truncated"] is True
    assert root["trade_log"] == doc["portfolio"]["trade_log"][:SUMMARY_MAX_TRADES]
    assert root["equity_curve"] == doc["portfolio"]["equity_curve"]
    assert "trade_log_truncated" not in summary["symbols"][0]["portfolio"]
    assert len(doc["portfolio"]["trade_log"]) == SUMMARY_MAX_TRADES + 1  # input untouched


def test_given_exactly_the_limit_then_nothing_is_cut():
    summary = summary_document(_document(root_trades=SUMMARY_MAX_TRADES))
    assert len(summary["portfolio"]["trade_log"]) == SUMMARY_MAX_TRADES
    assert "trade_log_truncated" not in summary["portfolio"]


def test_given_a_completed_run_when_the_summary_view_is_asked_then_the_api_serves_it(
    api, svc, clock
):
    doc = _document()
    task_id = _completed(api, svc, clock, doc)
    full = api.call("GET", f"/api/backtests/{task_id}")
    assert full.body == doc  # the default stays the stored document
    summary = api.call("GET", f"/api/backtests/{task_id}", query="view=summary")
    assert summary.status == 200 and summary.body == summary_document(doc)
    status = api.call("GET", f"/api/backtests/status/{task_id}", query="view=summary")
    assert status.status == 200 and status.body["status"] == "completed"
    assert status.body["result"] == summary_document(doc)
    assert api.call("GET", f"/api/backtests/status/{task_id}").body["result"] == doc


def test_given_an_unknown_view_then_422_naming_the_query_parameter(api, svc, clock):
    task_id = _completed(api, svc, clock, _document(3))
    for path in (f"/api/backtests/{task_id}", f"/api/backtests/status/{task_id}"):
        reply = api.call("GET", path, query="view=tiny")
        assert reply.status == 422, reply.body
        assert ["query", "view"] in [d["loc"] for d in reply.body["detail"]]


def test_given_a_completed_run_when_trades_csv_is_asked_then_every_trade_in_columns(
    api, svc, clock
):
    doc = _document(root_trades=1200)
    task_id = _completed(api, svc, clock, doc)
    reply = api.call("GET", f"/api/backtests/{task_id}/trades.csv")
    assert reply.status == 200 and reply.headers["content-type"] == "text/csv"
    assert f'filename="trades_{task_id}.csv"' in reply.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.body)))
    assert tuple(rows[0]) == TRADE_COLUMNS and len(rows) == 1200  # not cut at 1,000
    assert rows[0] == {k: str(v) for k, v in doc["portfolio"]["trade_log"][0].items()}
    only_btc = api.call("GET", f"/api/backtests/{task_id}/trades.csv", query="symbol=BTC_KRW")
    btc_rows = list(csv.DictReader(io.StringIO(only_btc.body)))  # its own portfolio's trades
    assert len(btc_rows) == 4 and {r["symbol"] for r in btc_rows} == {"BTC_KRW"}
    for spelling in ("btc_krw", "KRW-BTC", "btc/krw"):  # as a request body may spell it
        other = api.call("GET", f"/api/backtests/{task_id}/trades.csv", query=f"symbol={spelling}")
        assert other.status == 200 and other.body == only_btc.body, spelling
    garbage = api.call("GET", f"/api/backtests/{task_id}/trades.csv", query="symbol=%21%21")
    assert garbage.status == 422 and garbage.body["detail"][0]["loc"] == ["query", "symbol"]
    unknown = api.call("GET", f"/api/backtests/{task_id}/trades.csv", query="symbol=XRP_KRW")
    assert unknown.status == 422 and unknown.body["detail"][0]["loc"] == ["query", "symbol"]
    assert "BTC_KRW, ETH_KRW" in unknown.body["detail"][0]["msg"]


def test_given_a_single_symbol_run_then_the_csv_is_the_symbols_own_trade_log(api, svc, clock):
    doc = {**_document(), "portfolio": None}
    task_id = _completed(api, svc, clock, doc)
    rows = list(csv.DictReader(io.StringIO(
        api.call("GET", f"/api/backtests/{task_id}/trades.csv").body)))
    assert [r["symbol"] for r in rows] == ["BTC_KRW"] * 4 + ["ETH_KRW"] * 4


def test_given_a_queued_or_foreign_run_then_views_are_404(api, svc, clock):
    queued = api.call("POST", "/api/backtests/run-async", BODY).body["task_id"]
    assert api.call("GET", f"/api/backtests/{queued}/trades.csv").status == 404
    assert api.call("GET", f"/api/backtests/{queued}", query="view=summary").status == 404
    done = _completed(api, svc, clock, _document(3))
    assert api.call("GET", f"/api/backtests/{done}/trades.csv", token_sub="bob").status == 404
