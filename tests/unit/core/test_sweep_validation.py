"""A sweep's ``validation.walk_forward`` and ``pbo_blocks`` through the submit route."""

from __future__ import annotations

import pytest

from backtest_core.models import SweepRequest

SWEEP = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"],
         "start_date": "2024-01-01", "end_date": "2024-03-31", "timeframe": "1d",
         "grid": {"volume_window": [10, 20]}}
PBO_RULE = "pbo_blocks must be an even number from 4 to 32"
FOLDS_RULE = "folds must be a whole number from 2 to 20"


@pytest.mark.parametrize(("change", "loc", "msg"), [
    ({"pbo_blocks": 15}, ["body", "pbo_blocks"], PBO_RULE),
    ({"pbo_blocks": 2}, ["body", "pbo_blocks"], PBO_RULE),
    ({"pbo_blocks": 34}, ["body", "pbo_blocks"], PBO_RULE),
    ({"pbo_blocks": "16"}, ["body", "pbo_blocks"], PBO_RULE),
    ({"pbo_blocks": True}, ["body", "pbo_blocks"], PBO_RULE),
    ({"validation": {"walk_forward": {"folds": 1}}},
     ["body", "validation", "walk_forward", "folds"], FOLDS_RULE),
    ({"validation": {"walk_forward": {"folds": 21}}},
     ["body", "validation", "walk_forward", "folds"], FOLDS_RULE),
    ({"validation": {"walk_forward": {"folds": 2.5}}},
     ["body", "validation", "walk_forward", "folds"], FOLDS_RULE),
    ({"validation": {"walk_forward": {}}},
     ["body", "validation", "walk_forward", "folds"], "Field required"),
    ({"validation": {"walk_forward": {"folds": 3, "anchored": "yes"}}},
     ["body", "validation", "walk_forward", "anchored"], "valid boolean"),
    ({"validation": {"walk_forward": {"folds": 3, "step": 1}}},
     ["body", "validation", "walk_forward", "step"], "Extra inputs"),
    ({"validation": {"holdout": {}}}, ["body", "validation", "holdout"], "Extra inputs"),
])
def test_given_a_bad_validation_or_pbo_blocks_when_submitted_then_422_at_the_field(
        api, change, loc, msg):
    reply = api.call("POST", "/api/sweeps/run-async", {**SWEEP, **change})
    assert reply.status == 422, reply.body
    items = [item for item in reply.body["detail"] if item["loc"] == loc]
    assert items and msg in items[0]["msg"], reply.body


def test_given_walk_forward_and_pbo_blocks_when_submitted_then_stored_with_the_task(api, svc):
    body = {**SWEEP, "validation": {"walk_forward": {"folds": 4, "anchored": True}},
            "pbo_blocks": 8}
    reply = api.call("POST", "/api/sweeps/run-async", body)
    assert reply.status == 200, reply.body
    record = svc.tasks.get(reply.body["task_id"], svc.clock())
    assert isinstance(record.request, SweepRequest)
    assert record.request.pbo_blocks == 8
    assert record.request.validation.walk_forward.folds == 4
    assert record.request.validation.walk_forward.anchored is True


def test_given_neither_when_submitted_then_defaults_are_16_blocks_and_no_walk_forward(api,
                                                                                       svc):
    reply = api.call("POST", "/api/sweeps/run-async", SWEEP)
    assert reply.status == 200, reply.body
    record = svc.tasks.get(reply.body["task_id"], svc.clock())
    assert record.request.pbo_blocks == 16 and record.request.validation is None


@pytest.mark.parametrize(("window", "folds", "status"), [
    ({"end_date": "2024-01-05"}, 2, 422),  # 5 daily bars; 3 segments of 2 need 6
    ({"end_date": "2024-01-06"}, 2, 200),
    ({"end_date": "2024-01-01", "timeframe": "1h"}, 11, 200),  # 24 bars = 12 × 2
    ({"end_date": "2024-01-01", "timeframe": "1h"}, 12, 422),
])
def test_given_a_window_too_short_for_the_folds_when_submitted_then_422_with_the_minimum(
        api, window, folds, status):
    body = {**SWEEP, **window, "validation": {"walk_forward": {"folds": folds}}}
    reply = api.call("POST", "/api/sweeps/run-async", body)
    assert reply.status == status, reply.body
    if status == 422:
        (item,) = reply.body["detail"]
        assert item["loc"] == ["body", "validation", "walk_forward", "folds"]
        assert f"needs at least {2 * (folds + 1)} bars" in item["msg"]
