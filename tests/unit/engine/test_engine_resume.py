"""``run_by_symbol``: one symbol at a time with each finished symbol kept, a resumed run
reuses them and assembles the same document as an uninterrupted ``run_backtest``."""

import json

import numpy as np
import pytest
from engine_helpers import frame, reader_for

from backtest_engine import BacktestCancelled, Progress, RunSpec, run_backtest
from backtest_engine.runner import run_by_symbol


def _reader():
    rng = np.random.default_rng(11)
    frames = {}
    for name, bars in (("A_KRW", 3_000), ("B_KRW", 2_000), ("C_KRW", 2_500)):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, bars)))
        rows = np.column_stack([close, close * 1.003, close * 0.997, close,
                                rng.uniform(0, 10, bars)])
        frames[name] = frame(rows, start="2024-01-01", freq="h")
    return reader_for(frames, "1h")


READER = _reader()
SPEC = RunSpec(strategy="volume_zone_breakout", symbols=["A_KRW", "b_krw", "C_KRW", "ZZ_KRW"],
               timeframe="1h", fee_bps=5.0)


class Units:
    def __init__(self, stored: dict | None = None):
        self.stored = dict(stored or {})
        self.put_order: list[str] = []

    def get(self, symbol):
        return self.stored.get(symbol)

    def put(self, symbol, document):
        self.stored[symbol] = document
        self.put_order.append(symbol)


def _comparable(doc: dict) -> str:
    return json.dumps({k: v for k, v in doc.items() if k not in ("execution_time", "metadata")})


def test_given_three_symbols_and_one_without_data_when_run_by_symbol_then_it_equals_the_direct_run():
    units = Units()
    by_symbol = run_by_symbol(SPEC, READER, units, run_id="r1")
    direct = run_backtest(SPEC, READER, run_id="r1")
    assert _comparable(by_symbol) == _comparable(direct)
    assert units.put_order == ["A_KRW", "B_KRW", "C_KRW", "ZZ_KRW"]  # normalized symbols
    assert [f["symbol"] for f in by_symbol["failed_symbols"]] == ["ZZ_KRW"]


def test_given_the_first_symbol_finished_when_resumed_then_only_the_others_run_and_the_document_is_the_same():
    first = Units()
    with pytest.raises(BacktestCancelled):  # an attempt that stops during the second symbol
        run_by_symbol(SPEC, READER, first, run_id="r1",
                      should_cancel=lambda: bool(first.put_order))
    assert list(first.stored) == ["A_KRW"]
    resumed_units = Units(first.stored)
    calls: list[Progress] = []
    resumed = run_by_symbol(SPEC, READER, resumed_units, run_id="r1", progress=calls.append)
    assert resumed_units.put_order == ["B_KRW", "C_KRW", "ZZ_KRW"]  # A_KRW not recomputed
    assert _comparable(resumed) == _comparable(run_backtest(SPEC, READER, run_id="r1"))
    running = [p for p in calls if p.stage == "running_strategy"]
    assert running[0].fraction == pytest.approx(0.1 + 0.7 * 1 / 4)  # the finished fraction
    assert running[0].symbols_done == 1
    fractions = [p.fraction for p in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 0.9
    assert calls[-1].symbols_done == calls[-1].symbols_total == 4


def test_given_no_symbol_with_data_when_run_by_symbol_then_the_direct_run_s_no_data_error():
    spec = RunSpec(strategy="volume_zone_breakout", symbols=["X_KRW", "Y_KRW"], timeframe="1h")
    with pytest.raises(Exception) as by_symbol:
        run_by_symbol(spec, READER, Units(), run_id="r")
    with pytest.raises(Exception) as direct:
        run_backtest(spec, READER, run_id="r")
    assert type(by_symbol.value) is type(direct.value)
    assert str(by_symbol.value) == str(direct.value)
