"""Sweeps and fan-out through the real state machine (moto executes it in-process), the
real worker use case and the real engine. Jobs-queue messages are pumped by hand, as the
SQS event source would: run → execution → shard messages (task tokens) → aggregate.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import ROOT, FakeClock

SWEEP = {"strategy": "volume_zone_breakout", "params": {"num_bins": 10},
         "grid": {"volume_window": [5, 20], "top_percentile": [0.1, 0.3]},
         "symbols": ["BTC_KRW", "ETH_KRW"], "start_date": "2024-01-01",
         "end_date": "2024-03-31", "timeframe": "1h"}
DEADLINE_S = 30.0


@pytest.fixture
def fanout(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Iterator[Any]:
    from moto import mock_aws

    from infra.local.bootstrap import create_resources
    from infra.local.emulation import FAKE_CREDENTIALS, LOCAL_FUNCTION_ENV
    from infra.local.moto_lock import install_dynamodb_lock
    from infra.local.template_model import build_model
    from tests.conftest import _reset_caches

    install_dynamodb_lock()
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key, value in {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        import boto3

        model = build_model(ROOT / "template.yaml", "https://sqs.us-east-1.amazonaws.com",
                            parameter_overrides={"FanoutMinCandles": "1000"})
        clients = {s: boto3.client(s, region_name="us-east-1")
                   for s in ("dynamodb", "sqs", "s3", "stepfunctions")}
        urls = create_resources(model, clients, visibility_timeout_override_s=30)
        env: dict[str, str] = {}
        for fn in model.functions:
            env.update(fn.environment)
        env.update(LOCAL_FUNCTION_ENV, JOBS_QUEUE_URL=urls["JobsQueue"],
                   PROGRESS_INTERVAL_S="0", SWEEP_SHARD_COMBINATIONS="2")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        _reset_caches()
        for key, body in _candles().items():
            clients["s3"].put_object(Bucket=env["BUCKET"], Key=env["DATA_PREFIX"] + key,
                                     Body=body)
        yield Harness(clients, urls["JobsQueue"], clock)
        _reset_caches()


@functools.cache
def _candles() -> dict[str, bytes]:
    """The demo set's 1h Parquet objects (generated once per test process)."""
    from backtest_engine import to_parquet_layout
    from infra.local.demo_data import DEMO_SYMBOLS, synthetic_candles

    objects: dict[str, bytes] = {}
    for symbol in DEMO_SYMBOLS:
        objects.update(to_parquet_layout(synthetic_candles(symbol, "1h"), symbol, "1h"))
    return objects


class Harness:
    def __init__(self, clients: dict[str, Any], queue_url: str, clock: FakeClock):
        from backtest_core.services import Services
        from backtest_core.settings import Settings
        from backtest_engine.adapter import Engine

        self.clients, self.queue_url = clients, queue_url
        self.svc = Services.from_settings(Settings.from_env(os.environ), clock=clock)
        self.engine = Engine()
        self.seen: list[dict[str, Any]] = []
        self.idle = False  # the last receive found no message

    def submit_sweep(self, body: dict[str, Any]) -> str:
        from backtest_core.models import SweepRequest
        from backtest_core.usecases.submit import submit_sweep

        return submit_sweep(SweepRequest.model_validate(body), "anonymous", self.svc).task_id

    def submit(self, body: dict[str, Any]) -> str:
        from backtest_core.models import BacktestRequest
        from backtest_core.usecases.submit import submit

        return submit(BacktestRequest.model_validate(body), "anonymous", self.svc).task_id

    def pump(self, until: Callable[[], bool], engine: Any = None,
             on_message: Callable[[dict[str, Any]], None] | None = None) -> None:
        """Deliver jobs-queue messages to the worker use case until ``until()``."""
        from backtest_core.models import QueueMessage
        from backtest_core.usecases.worker import process_message

        sqs = self.clients["sqs"]
        deadline = time.monotonic() + DEADLINE_S
        while not until():
            assert time.monotonic() < deadline, f"not done after {DEADLINE_S}s: {self.seen}"
            resp = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=1,
                                       WaitTimeSeconds=1)
            self.idle = not resp.get("Messages")
            for msg in resp.get("Messages", []):
                body = json.loads(msg["Body"])
                self.seen.append(body)
                if on_message:
                    on_message(body)
                process_message(QueueMessage.model_validate(body), engine or self.engine,
                                self.svc)
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=msg["ReceiptHandle"])

    def record(self, task_id: str):
        return self.svc.tasks.get(task_id, self.svc.clock())

    def terminal(self, task_id: str) -> Callable[[], bool]:
        return lambda: self.record(task_id).status.terminal

    def execution_done(self, task_id: str) -> Callable[[], bool]:
        def done() -> bool:
            record = self.record(task_id)
            if not record.execution_arn:
                return False
            status = self.clients["stepfunctions"].describe_execution(
                executionArn=record.execution_arn)["status"]
            return status != "RUNNING"
        return done

    def result(self, task_id: str) -> dict[str, Any]:
        record = self.record(task_id)
        return json.loads(self.svc.results.get_bytes(record.result_key))


def _single(h: Harness, params: dict[str, Any], symbol: str) -> dict[str, Any]:
    from backtest_core.models import BacktestRequest

    body = {k: v for k, v in SWEEP.items() if k != "grid"}
    request = BacktestRequest.model_validate({**body, "params": params, "symbols": [symbol]})
    doc = h.engine.run(request, h.svc.candles, run_id="single", progress=lambda *_: None,
                       should_cancel=lambda: False, environment="test")
    return doc["symbols"][0]


def test_given_a_sweep_when_the_execution_runs_then_every_entry_equals_its_single_run(fanout):
    task_id = fanout.submit_sweep(SWEEP)

    fanout.pump(fanout.execution_done(task_id))

    record = fanout.record(task_id)
    assert record.status.value == "completed" and record.shards_done == record.shards_total == 4
    assert record.progress == 1.0 and record.kind == "sweep"
    doc = fanout.result(task_id)
    assert [e["rank"] for e in doc["leaderboard"]] == [1, 2, 3, 4]
    assert doc["combinations"] == 4 and doc["overfitting"]["trials"] == 4
    for entry in doc["leaderboard"]:
        for symbol, block in entry["per_symbol"].items():
            single = _single(fanout, entry["params"], symbol)
            assert block["total_signals"] == len(single["signals"])
            assert "trade_log" not in block["portfolio"]  # leaderboards carry the metrics only
            headline = {k: single["portfolio"][k] for k in block["portfolio"]}
            assert block["portfolio"] == pytest.approx(headline, rel=1e-9)
            assert block["win_rate"] == single["win_rate"]
    kinds = [m["kind"] for m in fanout.seen]
    assert kinds.count("shard") == 4 and kinds[-1] == "aggregate"


def test_given_a_big_plain_run_when_fanned_out_then_the_document_equals_the_unsharded_run(
        fanout):
    body = {k: v for k, v in SWEEP.items() if k != "grid"} | {
        "symbols": ["BTC_KRW", "DOGE_KRW", "ETH_KRW"]}
    task_id = fanout.submit(body)

    fanout.pump(fanout.terminal(task_id))

    record = fanout.record(task_id)
    assert record.status.value == "completed" and record.shards_total == 3
    sharded = fanout.result(task_id)
    from backtest_core.models import BacktestRequest

    whole = fanout.engine.run(BacktestRequest.model_validate(body), fanout.svc.candles,
                              run_id=task_id, progress=lambda *_: None,
                              should_cancel=lambda: False, environment="local")
    for key in ("execution_time", "metadata"):
        sharded.pop(key), whole.pop(key)
    assert json.dumps(sharded) == json.dumps(whole)
    assert [f["symbol"] for f in sharded["failed_symbols"]] == ["DOGE_KRW"]


class _FailingFor:
    """The real engine, except that shards of ``symbol`` raise a data error."""

    def __init__(self, engine: Any, symbol: str | None):
        self._engine, self._symbol = engine, symbol

    def __getattr__(self, name: str) -> Any:  # the rest of the port (the statistics) as is
        return getattr(self._engine, name)

    def run_shard(self, request, shard, reader, **kwargs):
        from backtest_core.errors import PermanentTaskError

        if self._symbol in (None, shard.symbol):
            raise PermanentTaskError(f"broken candles for {shard.symbol}")
        return self._engine.run_shard(request, shard, reader, **kwargs)


def test_given_a_failing_shard_when_retries_run_out_then_its_symbol_is_reported(fanout):
    task_id = fanout.submit_sweep(SWEEP)

    fanout.pump(fanout.execution_done(task_id), _FailingFor(fanout.engine, "ETH_KRW"))

    doc = fanout.result(task_id)
    assert doc["symbols"] == ["BTC_KRW"]
    assert doc["failed_symbols"] == [{"symbol": "ETH_KRW",
                                      "reason": "shard failed: broken candles for ETH_KRW"}]
    assert all(set(e["per_symbol"]) == {"BTC_KRW"} for e in doc["leaderboard"])
    eth_tries = [m for m in fanout.seen if m["kind"] == "shard" and m["shard"] >= 2]
    assert len(eth_tries) == 2 * 3  # two ETH shards, each tried once and retried twice


def test_given_every_shard_failing_when_aggregated_then_the_sweep_fails(fanout):
    task_id = fanout.submit_sweep({**SWEEP, "grid": {"volume_window": [5]}})

    fanout.pump(fanout.execution_done(task_id), _FailingFor(fanout.engine, None))

    record = fanout.record(task_id)
    assert record.status.value == "failed"
    assert record.error == "Every shard of the sweep failed"


def test_given_a_cancel_mid_sweep_then_the_rest_stops_and_nothing_is_stored(fanout):
    from backtest_core.usecases.cancel import cancel

    task_id = fanout.submit_sweep(SWEEP)
    shards_run: list[int] = []

    def cancel_after_first_shard(body: dict[str, Any]) -> None:
        if body["kind"] == "shard":
            shards_run.append(body["shard"])
            if len(shards_run) == 2:
                cancel(task_id, "anonymous", fanout.svc)

    # moto's server keeps a stopped execution running (the aggregation then comes and
    # must change nothing); in-process it aborts it (shards not yet sent never come):
    # wait for the aggregation, or for an ended execution with nothing left to deliver.
    execution_done = fanout.execution_done(task_id)
    fanout.pump(lambda: "aggregate" in [m["kind"] for m in fanout.seen]
                or (fanout.idle and execution_done()),
                fanout.engine, cancel_after_first_shard)

    record = fanout.record(task_id)
    assert record.status.value == "cancelled" and record.result_key is None
    assert record.shards_done == 1  # the shard after the cancel did not count
    keys = fanout.clients["s3"].list_objects_v2(Bucket=os.environ["BUCKET"],
                                                Prefix=f"results/{task_id}/")
    assert [k["Key"] for k in keys.get("Contents", [])] == [
        f"results/{task_id}/shards/1/{shards_run[0]}.json"]


def test_given_a_running_shard_when_cancelled_then_it_stops_at_its_next_check(fanout):
    from backtest_core.models import QueueMessage
    from backtest_core.usecases import fanout as fanout_uc
    from backtest_core.usecases.cancel import cancel

    task_id = fanout.submit_sweep(SWEEP)
    shard_messages: list[dict[str, Any]] = []
    fanout.pump(lambda: len(shard_messages) > 0, fanout.engine,
                lambda body: shard_messages.append(body) if body["kind"] == "shard" else None)
    # a second shard message, run by hand with an engine that works until told to stop
    started, stopped = threading.Event(), threading.Event()

    class Endless:
        def run_shard(self, request, shard, reader, *, should_cancel, **_):
            from backtest_core.errors import TaskCancelled

            started.set()
            deadline = time.monotonic() + DEADLINE_S
            while time.monotonic() < deadline:
                if should_cancel():
                    stopped.set()
                    raise TaskCancelled("cancelled")
                time.sleep(0.01)
            raise AssertionError("never saw the cancel")

    resp = fanout.clients["sqs"].receive_message(QueueUrl=fanout.queue_url, WaitTimeSeconds=5)
    body = json.loads(resp["Messages"][0]["Body"])
    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(fanout_uc.run_shard(
        QueueMessage.model_validate(body), Endless(), fanout.svc)))
    worker.start()
    assert started.wait(DEADLINE_S)
    cancel(task_id, "anonymous", fanout.svc)
    worker.join(DEADLINE_S)

    assert stopped.is_set() and outcome == ["cancelled"]


def test_given_a_fan_out_message_without_a_token_then_dropped_when_stale_refused_when_live(
        fanout):
    """Step Functions always sends the token; moto has been seen to resend a stopped
    execution's shard without one. Stale (the task no longer runs this attempt): dropped.
    For a task this attempt still runs: a permanent error (no token to answer)."""
    from backtest_core.errors import PermanentTaskError
    from backtest_core.models import QueueMessage
    from backtest_core.usecases import fanout as fanout_uc
    from backtest_core.usecases.cancel import cancel

    task_id = fanout.submit_sweep(SWEEP)
    shard_messages: list[dict[str, Any]] = []
    fanout.pump(lambda: len(shard_messages) > 0, fanout.engine,
                lambda body: shard_messages.append(body) if body["kind"] == "shard" else None)
    live = {**shard_messages[0], "token": None}
    assert fanout.record(task_id).status.value == "running"
    for kind, run in (("shard", fanout_uc.run_shard), ("aggregate", fanout_uc.aggregate)):
        with pytest.raises(PermanentTaskError, match="without a task token"):
            run(QueueMessage.model_validate({**live, "kind": kind}), fanout.engine, fanout.svc)

    cancel(task_id, "anonymous", fanout.svc)
    for kind, run in (("shard", fanout_uc.run_shard), ("aggregate", fanout_uc.aggregate)):
        assert run(QueueMessage.model_validate({**live, "kind": kind}), fanout.engine,
                   fanout.svc) == "skipped"
    assert fanout.record(task_id).status.value == "cancelled"


RSI_DIP = {"name": "rsi_dip", "description": "Buy oversold, sell on recovery",
           "params": {"rsi_len": {"type": "int", "default": 14, "min": 2, "max": 200},
                      "level": {"type": "float", "default": 30, "min": 0, "max": 100}},
           "entry": {"crosses_above": [{"ind": "rsi", "length": "$rsi_len"}, "$level"]},
           "exit": {"gt": [{"ind": "rsi", "length": "$rsi_len"}, 70]}}
WALK_SWEEPS = {
    "builtin": SWEEP,
    "rules_with_position": {
        **{k: v for k, v in SWEEP.items() if k not in ("strategy", "params", "grid")},
        "strategy": None, "definition": RSI_DIP, "params": {},
        "position": {"stop_loss": {"pct": 3}},
        "grid": {"rsi_len": [7, 14], "level": [30, 40]}},
}


def _range_sharpe(h: Harness, body: dict[str, Any], params: dict[str, Any], symbol: str,
                  first: str, last: str) -> float | None:
    """Brute force: one single run's masks (whole window), simulated on the symbol's bars
    from ``first`` to ``last`` only (bar_range); None with fewer than 2 bars there."""
    import numpy as np

    from backtest_engine.loading import load_symbol
    from backtest_engine.sim import SymbolBars, portfolio_block, simulate_symbol
    from backtest_engine.sim.inputs import atr_lengths, compute_atr
    from backtest_engine.strategies import resolve
    from backtest_engine.sweep import combination_plan

    ref, strategy = resolve(body["strategy"], body.get("definition"))
    plan = combination_plan(ref, strategy, params, body.get("position"))
    c = load_symbol(h.svc.candles, symbol, "1h", *_window(body)).candles
    masks = next(strategy.masks_for(c, [plan.params], lambda _n: None))
    lo_ns, hi_ns = (np.datetime64(t[:-1], "ns").astype(np.int64) for t in (first, last))
    inside = np.flatnonzero((c.ts_ns >= lo_ns) & (c.ts_ns <= hi_ns))
    if inside.shape[0] < 2:
        return None
    atr = {n: compute_atr(c.high, c.low, c.close, n) for n in atr_lengths(plan.position)}
    bars = SymbolBars(symbol, c.ts_ns, c.open, c.high, c.low, c.close, entry=masks.entry,
                      exit=masks.exit, atr=atr)
    lo, hi = int(inside[0]), int(inside[-1]) + 1
    own = simulate_symbol(bars, plan.position, 5 / 1e4, 0.0, bar_range=(lo, hi))
    bh = (c.close[hi - 1] / c.close[lo] - 1) * 100
    return portfolio_block(own, 3600, bh, 5.0, 0.0, detail=False)["sharpe"]


def _window(body: dict[str, Any]):
    from datetime import date

    return date.fromisoformat(body["start_date"]), date.fromisoformat(body["end_date"])


@pytest.mark.parametrize("kind", list(WALK_SWEEPS))
def test_given_a_walk_forward_sweep_when_executed_then_folds_match_single_range_runs(
        fanout, kind):
    from backtest_core.sweeps import expand_grid

    body = {**WALK_SWEEPS[kind], "validation": {"walk_forward": {"folds": 3}}, "pbo_blocks": 8}
    task_id = fanout.submit_sweep(body)

    fanout.pump(fanout.execution_done(task_id))

    assert fanout.record(task_id).status.value == "completed"
    doc = fanout.result(task_id)
    combos = [{**body["params"], **c} for c in expand_grid(body["grid"])]
    wf = doc["walk_forward"]
    assert [f["fold"] for f in wf["folds"]] == [1, 2, 3]
    symbols = body["symbols"]

    def mean(params, rng):
        values = [v for s in symbols
                  if (v := _range_sharpe(fanout, body, params, s, rng["first"], rng["last"]))
                  is not None]
        return sum(values) / len(values) if values else None

    for fold in wf["folds"]:
        train = [mean(p, fold["train"]) for p in combos]
        best = max(range(len(combos)), key=lambda i: (train[i] is not None, train[i] or 0, -i))
        assert fold["best_params"] == combos[best]
        assert fold["train_score"] == pytest.approx(train[best], abs=1e-9)
        assert fold["test_score"] == pytest.approx(mean(combos[best], fold["test"]), abs=1e-9)
    for symbol in symbols:
        pbo = doc["overfitting"]["per_symbol"][symbol]["pbo"]
        assert pbo is not None and 0.0 <= pbo <= 1.0
    assert doc["overfitting"]["pbo"] == pytest.approx(
        sum(doc["overfitting"]["per_symbol"][s]["pbo"] for s in symbols) / len(symbols))


def test_given_a_cancel_mid_walk_forward_then_the_task_is_cancelled_once(fanout):
    from backtest_core.usecases.cancel import cancel

    body = {**SWEEP, "validation": {"walk_forward": {"folds": 2, "anchored": True}}}
    task_id = fanout.submit_sweep(body)
    outcomes: list[Any] = []

    def cancel_at_the_first_shard(message: dict[str, Any]) -> None:
        if message["kind"] == "shard" and not outcomes:
            outcomes.append(cancel(task_id, "anonymous", fanout.svc))

    execution_done = fanout.execution_done(task_id)
    fanout.pump(lambda: "aggregate" in [m["kind"] for m in fanout.seen]
                or (fanout.idle and execution_done()),
                fanout.engine, cancel_at_the_first_shard)

    record = fanout.record(task_id)
    assert record.status.value == "cancelled" and record.result_key is None
    assert record.shards_done == 0  # the walk-forward shard after the cancel did not count
    # A second cancel answers cancelled again and changes nothing. (Whether the Map sends a
    # second shard before the first one's answer ends the execution is moto's timing: the
    # test does not depend on it.)
    again = cancel(task_id, "anonymous", fanout.svc)
    assert [o.status.value for o in outcomes] == ["cancelled"] and again.status.value == "cancelled"
    assert fanout.record(task_id) == record


RULE_SWEEP = {**{k: v for k, v in SWEEP.items() if k not in ("strategy", "params", "grid")},
              "params": {}, "grid": {"rsi_len": [7, 14, 21], "level": [30, 40]}}


@pytest.mark.parametrize("by", ["definition", "saved_name"])
def test_given_a_grid_over_a_documents_params_when_swept_then_every_entry_equals_its_single_run(
        fanout, by):
    from backtest_contract.rules import document_version
    from backtest_core.usecases.strategies import save

    if by == "saved_name":
        save("rsi_dip", RSI_DIP, "anonymous", fanout.svc)
        body = {**RULE_SWEEP, "strategy": "rsi_dip"}
    else:
        body = {**RULE_SWEEP, "definition": RSI_DIP}
    task_id = fanout.submit_sweep(body)

    fanout.pump(fanout.execution_done(task_id))

    assert fanout.record(task_id).status.value == "completed"
    doc = fanout.result(task_id)
    assert doc["combinations"] == 6 and len(doc["leaderboard"]) == 6
    assert doc["definition"] == RSI_DIP and doc["definition_version"] == document_version(RSI_DIP)
    assert sorted((e["params"]["rsi_len"], e["params"]["level"]) for e in doc["leaderboard"]) == [
        (7, 30), (7, 40), (14, 30), (14, 40), (21, 30), (21, 40)]
    traded = 0
    for entry in doc["leaderboard"]:
        for symbol, block in entry["per_symbol"].items():
            single = _single_run(fanout, {**body, "params": entry["params"]}, symbol)
            assert block["total_signals"] == len(single["signals"])
            traded += block["total_signals"]
            headline = {k: single["portfolio"][k] for k in block["portfolio"]}
            assert block["portfolio"] == pytest.approx(headline, rel=1e-9)
            assert block["win_rate"] == single["win_rate"]
    assert traded > 0


def _single_run(h: Harness, body: dict[str, Any], symbol: str) -> dict[str, Any]:
    """The symbol's block of one run of ``body`` (a sweep body without its grid) with an
    inline definition: the document a saved name resolves to."""
    from backtest_core.models import BacktestRequest

    run = {k: v for k, v in body.items() if k not in ("grid", "strategy")}
    request = BacktestRequest.model_validate({**run, "definition": RSI_DIP, "symbols": [symbol]})
    doc = h.engine.run(request, h.svc.candles, run_id="single", progress=lambda *_: None,
                       should_cancel=lambda: False, environment="test")
    return doc["symbols"][0]
