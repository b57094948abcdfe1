"""Rule documents over real HTTP (docs/rules.md): save one, list it, run it by name and
inline, sweep one of its parameters, delete it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.api_calls import call
from tests.e2e.test_api_flow import wait_terminal

pytestmark = pytest.mark.e2e

DOC = json.loads((Path(__file__).parents[2] / "examples" / "strategies"
                  / "rsi_mean_reversion.json").read_text())
NAME = "e2e_rsi_reversion"
SAVED = {**DOC, "name": NAME}
RUN = {"params": {}, "symbols": ["BTC_KRW"], "start_date": "2024-01-01",
       "end_date": "2024-12-31", "timeframe": "1d"}


def _result(api_url: str, body: dict) -> dict:
    status, _, created = call(api_url, "POST", "/api/backtests/run-async", body)
    assert status == 200, created
    final = wait_terminal(api_url, created["task_id"])[-1]
    assert final["status"] == "completed", final
    status, _, result = call(api_url, "GET", f"/api/backtests/{created['task_id']}")
    assert status == 200
    return result


def test_given_a_saved_document_over_http_then_listed_run_by_name_and_inline_alike(api_url):
    status, _, saved = call(api_url, "PUT", f"/api/strategies/{NAME}", SAVED)
    assert status == 200, saved
    status, _, listed = call(api_url, "GET", "/api/strategies")
    entry = next(d for d in listed["details"] if d["name"] == NAME)
    assert entry["kind"] == "rules" and entry["version"] == saved["version"]
    assert entry["defaults"] == {"rsi_len": 14, "oversold": 35.0, "overbought": 65.0}

    by_name = _result(api_url, {**RUN, "strategy": NAME})
    inline = _result(api_url, {**RUN, "definition": SAVED})

    assert by_name["definition"] == inline["definition"] == SAVED
    assert by_name["definition_version"] == inline["definition_version"] == saved["version"]
    assert by_name["total_signals"] == inline["total_signals"] > 0
    assert by_name["portfolio"]["total_return_pct"] == inline["portfolio"]["total_return_pct"]
    assert by_name["symbols"][0]["signals"] == inline["symbols"][0]["signals"]


def test_given_a_saved_document_when_one_param_is_swept_then_rows_equal_single_runs(api_url):
    status, _, saved = call(api_url, "PUT", f"/api/strategies/{NAME}", SAVED)
    assert status == 200, saved
    sweep = {**RUN, "strategy": NAME, "grid": {"oversold": [30, 40]},
             "rank_by": "portfolio.total_return_pct"}
    status, _, created = call(api_url, "POST", "/api/sweeps/run-async", sweep)
    assert status == 200, created
    final = wait_terminal(api_url, created["task_id"])[-1]
    assert final["status"] == "completed", final
    doc = final["result"]
    assert doc["definition"] == SAVED and doc["definition_version"] == saved["version"]
    assert sorted(e["params"]["oversold"] for e in doc["leaderboard"]) == [30, 40]
    for entry in doc["leaderboard"]:
        status, _, single = call(api_url, "POST", "/api/backtests/run",
                                 {**RUN, "strategy": NAME, "params": entry["params"]})
        assert status == 200, single
        got = entry["per_symbol"]["BTC_KRW"]
        assert got["total_signals"] == len(single["symbols"][0]["signals"])
        headline = {k: single["symbols"][0]["portfolio"][k] for k in got["portfolio"]}
        assert got["portfolio"] == pytest.approx(headline, rel=1e-9, abs=1e-12)


def test_given_a_deleted_document_when_run_by_name_then_422_at_strategy(api_url):
    assert call(api_url, "PUT", f"/api/strategies/{NAME}_gone", {**DOC, "name": f"{NAME}_gone"}
                )[0] == 200
    status, _, _ = call(api_url, "DELETE", f"/api/strategies/{NAME}_gone")
    assert status == 204
    assert call(api_url, "GET", f"/api/strategies/{NAME}_gone")[0] == 404

    status, _, body = call(api_url, "POST", "/api/backtests/run-async",
                           {**RUN, "strategy": f"{NAME}_gone"})

    assert status == 422, body
    assert body["detail"][0]["loc"] == ["body", "strategy"]
    assert f"{NAME}_gone" in body["detail"][0]["msg"]
