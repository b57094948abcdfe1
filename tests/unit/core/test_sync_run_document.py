"""POST /api/backtests/run answers the document the engine's plain run encodes to: the
long lists come written as JSON from their columns (``rows_as_json``,
docs/positions.md "Speed") and encode to the same value as the dicts."""

from __future__ import annotations

import orjson

RUN = {"strategy": "volume_zone_breakout", "symbols": ["BTC_KRW"], "start_date": "2024-01-01",
       "end_date": "2024-01-31", "timeframe": "1h",
       "position": {"stop_loss": {"pct": 1}, "time_exit_bars": 12}}


def test_given_a_sync_run_then_the_body_is_the_plain_documents_json(api, svc):
    from backtest_core.models import BacktestRequest
    from backtest_engine.adapter import Engine

    reply = api.call("POST", "/api/backtests/run", RUN)
    assert reply.status == 200, reply.body
    plain = Engine().run(BacktestRequest.model_validate(RUN), svc.candles, run_id="x",
                         progress=None, should_cancel=None, environment="test")
    assert plain["total_signals"] > 0 and plain["portfolio"]["trade_log"]
    want = orjson.loads(orjson.dumps(plain))  # NaN → null, as the store writes it
    got = reply.body
    for doc in (want, got):
        for key in ("run_id", "execution_time", "metadata"):
            doc.pop(key)
    assert got == want
