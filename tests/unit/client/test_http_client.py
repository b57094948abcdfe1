"""BacktestClient against a tiny real HTTP server with canned answers shaped as in docs/api.md."""

from __future__ import annotations

import gzip
import json

import pytest
from client_fakes import Canned, FakeApi, status_doc

from backtest_client.http import (
    ApiError,
    ApiUnreachable,
    BacktestClient,
    WaitTimeout,
    render_detail,
)

TASK = "t-123"
STATUS_PATH = f"/api/backtests/status/{TASK}"


class FakeClock:
    """A monotonic clock that only moves when `sleep` is called (no real waiting)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_given_422_list_when_submitting_then_error_names_each_field(fake_api: FakeApi) -> None:
    detail = [
        {"loc": ["body", "params", "volume_window"], "msg": "Input should be >= 1",
         "type": "greater_than_equal"},
        {"loc": ["body", "symbols", 0], "msg": "Invalid symbol: BTC-", "type": "value_error"},
    ]
    fake_api.add("POST", "/api/backtests/run-async", Canned(422, {"detail": detail}))

    with pytest.raises(ApiError) as info:
        BacktestClient(fake_api.url).submit({"strategy": "volume_zone_breakout"})

    assert info.value.status == 422
    assert info.value.detail == ("field params.volume_window: Input should be >= 1; "
                                 "field symbols.0: Invalid symbol: BTC-")
    assert str(info.value).startswith("422 field params.volume_window")


def test_given_404_when_reading_status_then_detail_is_the_message(fake_api: FakeApi) -> None:
    fake_api.add("GET", "/api/backtests/status/abc", Canned(404, {"detail": "Task not found: abc"}))

    with pytest.raises(ApiError) as info:
        BacktestClient(fake_api.url).status("abc")

    assert (info.value.status, info.value.detail) == (404, "Task not found: abc")


def test_given_a_gzipped_404_when_reading_a_result_then_detail_is_the_message(
        fake_api: FakeApi) -> None:
    """The result routes compress every answer to ``Accept-Encoding: gzip``, errors too."""
    body = gzip.compress(json.dumps({"detail": "Task not found: abc"}).encode())
    fake_api.add("GET", "/api/backtests/abc", Canned(404, body, {"Content-Encoding": "gzip"}))

    with pytest.raises(ApiError) as info:
        BacktestClient(fake_api.url).result("abc")

    assert (info.value.status, info.value.detail) == (404, "Task not found: abc")


def test_given_non_json_500_when_calling_then_error_carries_the_text(fake_api: FakeApi) -> None:
    fake_api.add("GET", "/api/health", Canned(502, b"Bad gateway from proxy"))

    with pytest.raises(ApiError) as info:
        BacktestClient(fake_api.url).health()

    assert (info.value.status, info.value.detail) == (502, "Bad gateway from proxy")


def test_given_nothing_listening_when_calling_then_api_unreachable(closed_port_url: str) -> None:
    with pytest.raises(ApiUnreachable) as info:
        BacktestClient(closed_port_url, timeout=2).health()

    assert info.value.reason == "connection refused"
    assert str(info.value) == f"cannot reach {closed_port_url} (connection refused)"


def test_given_key_and_token_when_submitting_then_headers_and_body_are_sent(
    fake_api: FakeApi,
) -> None:
    accepted = {"task_id": TASK, "status": "queued", "created_at": "2025-01-01T00:00:00Z"}
    fake_api.add("POST", "/api/backtests/run-async", Canned(200, accepted))
    request = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"],
               "start_date": "2024-01-01", "end_date": "2024-12-31", "timeframe": "1d"}

    answer = BacktestClient(fake_api.url, token="tok").submit(request, idempotency_key="k-1")

    assert answer == accepted
    seen = fake_api.requests[-1]
    assert seen.headers["Idempotency-Key"] == "k-1"
    assert seen.headers["Authorization"] == "Bearer tok"
    assert json.loads(seen.body) == request


def test_given_filters_when_listing_history_then_only_given_ones_are_in_the_query(
    fake_api: FakeApi,
) -> None:
    fake_api.add("GET", "/api/backtests/history", Canned(200, {"items": [], "next_cursor": None}))

    BacktestClient(fake_api.url).history(limit=5, status="completed")

    assert fake_api.requests[-1].path == "/api/backtests/history?limit=5&status=completed"


def test_given_a_result_when_downloading_then_raw_bytes_come_back(fake_api: FakeApi) -> None:
    fake_api.add("GET", f"/api/backtests/{TASK}/download", Canned(200, b'{"version": "1.3.0"}'))

    assert BacktestClient(fake_api.url).download(TASK) == b'{"version": "1.3.0"}'


def test_given_retry_after_when_waiting_then_polls_at_that_interval(fake_api: FakeApi) -> None:
    fake_api.add("GET", STATUS_PATH,
                 Canned(200, status_doc(TASK, "queued", 0.0), {"Retry-After": "3"}),
                 Canned(200, status_doc(TASK, "running", 0.5, "running_strategy"),
                        {"Retry-After": "2"}),
                 Canned(200, status_doc(TASK, "completed", 1.0, "saving_results")))
    clock, seen = FakeClock(), []

    final = BacktestClient(fake_api.url).wait(TASK, on_progress=seen.append,
                                              sleep=clock.sleep, clock=clock)

    assert final["status"] == "completed"
    assert clock.sleeps == [3.0, 2.0]
    assert [d["status"] for d in seen] == ["queued", "running", "completed"]


@pytest.mark.parametrize(("header", "poll_s", "expected"), [
    ({}, None, 1.0),                     # default
    ({}, 0.5, 0.5),                      # caller's interval when the server gives none
    ({"Retry-After": "0"}, None, 0.2),   # never below 0.2 s
    ({"Retry-After": "garbage"}, None, 1.0),
])
def test_given_header_variants_when_waiting_then_interval_is_bounded(
    fake_api: FakeApi, header: dict[str, str], poll_s: float | None, expected: float,
) -> None:
    fake_api.add("GET", STATUS_PATH, Canned(200, status_doc(TASK, "running", 0.2), header),
                 Canned(200, status_doc(TASK, "completed", 1.0)))
    clock = FakeClock()

    BacktestClient(fake_api.url).wait(TASK, poll_s=poll_s, sleep=clock.sleep, clock=clock)

    assert clock.sleeps == [expected]


def test_given_a_task_that_never_ends_when_waiting_then_deadline_stops_it(
    fake_api: FakeApi,
) -> None:
    fake_api.add("GET", STATUS_PATH,
                 Canned(200, status_doc(TASK, "running", 0.3), {"Retry-After": "4"}))
    clock = FakeClock()

    with pytest.raises(WaitTimeout) as info:
        BacktestClient(fake_api.url).wait(TASK, timeout_s=10, sleep=clock.sleep, clock=clock)

    assert clock.sleeps == [4.0, 4.0, 2.0]   # the last pause is cut at the deadline
    assert info.value.last["status"] == "running"


def test_given_detail_shapes_when_rendering_then_one_readable_line() -> None:
    assert render_detail("Task not found: x") == "Task not found: x"
    assert render_detail([{"loc": ["query", "limit"], "msg": "too big"}]) == "field limit: too big"
    assert render_detail([{"loc": ["body"], "msg": "bad"}]) == "field body: bad"
    assert render_detail([{"loc": [], "type": "missing"}]) == "missing"
    assert render_detail({"a": 1}) == '{"a":1}'
