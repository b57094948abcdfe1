"""Two owners at once over real HTTP: no answer ever carries the other caller's owner or
body. With every function as threads of one process (the old local design), Powertools'
resolver keeps the current event on a shared instance and this mixed owners or bodies in
about one answer in five; each function now runs in its own sandbox processes.

Also: the logs name the function that wrote them (Powertools' ``function_name``).
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.api_calls import call
from tests.e2e.test_api_flow import bearer, wait_terminal

pytestmark = pytest.mark.e2e
ROUNDS = 30  # per owner; each round is one submit and one history read
RUN = uuid.uuid4().hex[:8]  # owners of this run only (other tests may use the same names)
OWNER_BODY = {
    f"alice-{RUN}": {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"]},
    f"bob-{RUN}": {"strategy": "volume_long_candle", "symbols": ["ETH_KRW"]},
}


def _round(api_url: str, owner: str, i: int) -> tuple[str, str, dict, dict]:
    body = {**OWNER_BODY[owner], "start_date": "2024-01-01", "end_date": "2024-03-31",
            "timeframe": "1d", "fee_bps": 1 + i}
    status, _, created = call(api_url, "POST", "/api/backtests/run-async", body, bearer(owner))
    assert status == 200, created
    status, _, history = call(api_url, "GET", "/api/backtests/history?limit=50", None,
                              bearer(owner))
    assert status == 200, history
    return owner, created["task_id"], body, history


def test_given_two_owners_submitting_at_once_then_no_answer_mixes_owner_or_body(api_url):
    jobs = [(owner, i) for i in range(ROUNDS) for owner in OWNER_BODY]
    with ThreadPoolExecutor(12) as pool:
        rounds = list(pool.map(lambda job: _round(api_url, *job), jobs))

    mixed = []
    for owner, task_id, body, history in rounds:
        for item in history["items"]:  # the owner's own tasks only, with their own bodies
            if (item["symbols"], item["strategy"]) != (body["symbols"], body["strategy"]):
                mixed.append((owner, "history", item))
        status, _, view = call(api_url, "GET", f"/api/backtests/status/{task_id}", None,
                               bearer(owner))
        if status != 200:  # created under the other owner: its submitter cannot see it
            mixed.append((owner, "status", task_id))
    submitted = {owner: {t for o, t, _, _ in rounds if o == owner} for owner in OWNER_BODY}
    for owner, task_ids in submitted.items():
        assert len(task_ids) == ROUNDS
        for other in set(OWNER_BODY) - {owner}:  # never visible to the other owner
            status, _, _ = call(api_url, "GET", f"/api/backtests/status/{next(iter(task_ids))}",
                                None, bearer(other))
            assert status == 404
    assert mixed == [], f"{len(mixed)} mixed answers, e.g. {mixed[:3]}"


def test_given_requests_then_each_log_line_names_its_own_function(endpoints, api_url):
    if endpoints.log_path is None:
        pytest.skip("needs the local stack's log")
    status, _, created = call(api_url, "POST", "/api/backtests/run-async",
                              {**OWNER_BODY[f"alice-{RUN}"], "start_date": "2024-01-01",
                               "end_date": "2024-01-31"})
    assert status == 200
    wait_terminal(api_url, created["task_id"])

    lines = [json.loads(line) for line in endpoints.log_path.read_text().splitlines()
             if line.startswith('{"level"')]
    by_message = {}
    for line in lines:
        by_message.setdefault(line["message"], set()).add(line.get("function_name", ""))
    assert by_message["task queued"] and all(
        name.endswith("SubmitFunction") for name in by_message["task queued"])
    assert by_message["claimed"] and all(
        name.endswith("WorkerFunction") for name in by_message["claimed"])
