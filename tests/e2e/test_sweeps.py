"""Sweeps over real HTTP: the state machine in the local stack's moto, the worker, the API."""

from __future__ import annotations

import pytest

from tests.e2e.api_calls import call
from tests.e2e.test_api_flow import wait_terminal

pytestmark = pytest.mark.e2e

SWEEP = {"strategy": "volume_zone_breakout", "params": {"num_bins": 12},
         "grid": {"volume_window": [5, 15], "top_percentile": [0.1, 0.3]},
         "symbols": ["BTC_KRW", "ETH_KRW"], "start_date": "2024-01-01",
         "end_date": "2024-12-31", "timeframe": "1d", "rank_by": "portfolio.total_return_pct"}
PER_SYMBOL = ("win_rate", "avg_return", "max_drawdown")


def test_given_a_sweep_over_http_then_every_leaderboard_entry_equals_its_single_backtest(
        api_url):
    status, _, created = call(api_url, "POST", "/api/sweeps/run-async", SWEEP)
    assert status == 200, created
    assert created["kind"] == "sweep" and created["combinations"] == 4
    assert created["shards"] == 2 and created["status"] == "queued"

    views = wait_terminal(api_url, created["task_id"])

    final = views[-1]
    assert final["status"] == "completed", final
    assert final["kind"] == "sweep" and final["shards_done"] == final["shards_total"] == 2
    assert any(v["stage"] == "running_shards" for v in views[:-1]) or len(views) == 1
    doc = final["result"]
    assert doc["kind"] == "sweep" and doc["grid"] == SWEEP["grid"]
    scores = [e["score"] for e in doc["leaderboard"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 4
    for entry in doc["leaderboard"]:
        body = {k: v for k, v in SWEEP.items() if k not in ("grid", "rank_by")}
        status, _, single = call(api_url, "POST", "/api/backtests/run",
                                 {**body, "params": entry["params"]})
        assert status == 200, single
        for block in single["symbols"]:
            got = entry["per_symbol"][block["symbol"]]
            assert got["total_signals"] == len(block["signals"])
            for field in PER_SYMBOL:
                assert got[field] == pytest.approx(block[field], rel=1e-9, abs=1e-12)
            headline = {k: block["portfolio"][k] for k in got["portfolio"]}
            assert "equity_curve" not in got["portfolio"]  # leaderboards: metrics only
            assert got["portfolio"] == pytest.approx(headline, rel=1e-9, abs=1e-12)
        means = [entry["per_symbol"][s]["portfolio"]["total_return_pct"] for s in doc["symbols"]]
        assert entry["score"] == pytest.approx(sum(means) / len(means))
    assert set(doc["overfitting"]["per_symbol"]) == {"BTC_KRW", "ETH_KRW"}

    status, _, page = call(api_url, "GET", "/api/backtests/history?limit=20")
    item = next(i for i in page["items"] if i["task_id"] == created["task_id"])
    assert item["kind"] == "sweep"


@pytest.mark.parametrize(("change", "loc"), [
    ({"params": {"volume_window": 5}}, ["body", "grid"]),
    ({"max_combinations": 3}, ["body", "grid"]),
    ({"grid": {"volume_window": [5, 0]}}, ["body", "grid", "volume_window", 1]),
    ({"grid": {"bogus": [1]}}, ["body", "grid", "bogus", 0]),
    ({"rank_by": "sharpe"}, ["body", "rank_by"]),
])
def test_given_a_bad_sweep_then_422_names_the_field(api_url, change, loc):
    status, _, body = call(api_url, "POST", "/api/sweeps/run-async", {**SWEEP, **change})
    assert status == 422, body
    assert body["detail"][0]["loc"] == loc


def test_given_an_idempotency_key_then_the_same_sweep_is_answered_once(api_url):
    headers = {"idempotency-key": "sweep-e2e-once"}
    first = call(api_url, "POST", "/api/sweeps/run-async", SWEEP, headers=headers)
    again = call(api_url, "POST", "/api/sweeps/run-async", SWEEP, headers=headers)
    assert first[0] == again[0] == 200
    assert again[2] == first[2] and first[2]["kind"] == "sweep"
    other = call(api_url, "POST", "/api/sweeps/run-async", {**SWEEP, "params": {}},
                 headers=headers)
    assert other[0] == 409


def test_given_a_queued_or_running_sweep_when_cancelled_then_it_ends_cancelled(api_url):
    body = {**SWEEP, "timeframe": "1h", "end_date": "2025-12-31",
            "grid": {"volume_window": list(range(5, 45))}}
    status, _, created = call(api_url, "POST", "/api/sweeps/run-async", body)
    assert status == 200, created

    status, _, cancelled = call(api_url, "DELETE", f"/api/backtests/tasks/{created['task_id']}")

    assert status == 200 and cancelled["status"] == "cancelled"
    final = wait_terminal(api_url, created["task_id"])[-1]
    assert final["status"] == "cancelled" and final["result"] is None


def test_given_accept_encoding_gzip_when_reading_a_result_then_it_comes_compressed(api_url):
    import gzip
    import json
    import urllib.request

    status, _, created = call(api_url, "POST", "/api/sweeps/run-async", SWEEP)
    assert status == 200
    wait_terminal(api_url, created["task_id"])
    request = urllib.request.Request(f"{api_url}/api/backtests/{created['task_id']}",
                                     headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        encoding, raw = resp.headers.get("Content-Encoding"), resp.read()

    assert encoding == "gzip"
    doc = json.loads(gzip.decompress(raw))
    assert doc["run_id"] == created["task_id"] and len(doc["leaderboard"]) == 4
    status, _, plain = call(api_url, "GET", f"/api/backtests/{created['task_id']}")
    assert plain == doc  # without Accept-Encoding: the same document, uncompressed


def test_given_a_walk_forward_sweep_over_http_then_folds_and_pbo_are_reported(api_url):
    body = {**SWEEP, "validation": {"walk_forward": {"folds": 4, "anchored": False}},
            "pbo_blocks": 8}
    status, _, created = call(api_url, "POST", "/api/sweeps/run-async", body)
    assert status == 200, created

    final = wait_terminal(api_url, created["task_id"])[-1]

    assert final["status"] == "completed", final
    doc = final["result"]
    wf = doc["walk_forward"]
    folds = wf["folds"]
    assert [f["fold"] for f in folds] == [1, 2, 3, 4]
    assert folds[0]["train"]["first"] == "2024-01-01T00:00:00Z"
    assert folds[-1]["test"]["last"] == "2024-12-31T00:00:00Z"
    for before, after in zip(folds, folds[1:], strict=False):
        assert after["train"] == before["test"]  # rolling: train on the previous test range
    grids = [{**SWEEP["params"], **e["params"]} for e in doc["leaderboard"]]
    assert all(f["best_params"] in grids for f in folds)
    assert wf["is_score"] == pytest.approx(sum(f["train_score"] for f in folds) / 4)
    assert wf["oos_score"] == pytest.approx(sum(f["test_score"] for f in folds) / 4)
    assert (wf["efficiency"] is None) == (wf["is_score"] <= 0)
    per_symbol = doc["overfitting"]["per_symbol"]
    assert all(0.0 <= per_symbol[s]["pbo"] <= 1.0 for s in ("BTC_KRW", "ETH_KRW"))
    assert doc["overfitting"]["pbo"] == pytest.approx(
        (per_symbol["BTC_KRW"]["pbo"] + per_symbol["ETH_KRW"]["pbo"]) / 2)


@pytest.mark.parametrize(("change", "loc"), [
    ({"validation": {"walk_forward": {"folds": 21}}}, ["body", "validation", "walk_forward",
                                                       "folds"]),
    ({"validation": {"walk_forward": {"folds": 20}}, "end_date": "2024-01-20"},
     ["body", "validation", "walk_forward", "folds"]),
    ({"pbo_blocks": 5}, ["body", "pbo_blocks"]),
])
def test_given_bad_validation_then_422_names_the_field_and_minimum(api_url, change, loc):
    status, _, body = call(api_url, "POST", "/api/sweeps/run-async", {**SWEEP, **change})
    assert status == 422, body
    assert body["detail"][0]["loc"] == loc
    assert any(ch.isdigit() for ch in body["detail"][0]["msg"])
