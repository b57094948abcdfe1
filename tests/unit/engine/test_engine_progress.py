"""Progress records (monotonic, symbols counted) and cancellation."""

import numpy as np
import pytest
from engine_helpers import frame, reader_for

from backtest_engine import BacktestCancelled, Progress, RunSpec, run_backtest

STAGES = ["loading_data", "running_strategy", "calculating_metrics"]


def _reader(symbols: int = 3, bars: int = 60_000):
    rng = np.random.default_rng(7)
    frames = {}
    for k in range(symbols):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, bars)))
        rows = np.column_stack([close, close * 1.002, close * 0.998, close,
                                rng.uniform(0, 10, bars)])
        frames[f"S{k}_KRW"] = frame(rows, start="2024-01-01", freq="min")
    return reader_for(frames, "1m"), list(frames)


READER, SYMBOLS = _reader()
SPEC = RunSpec(strategy="volume_zone_breakout", symbols=SYMBOLS, timeframe="1m")


def test_given_long_run_when_reporting_then_monotonic_stages_and_counted_symbols():
    calls: list[Progress] = []
    run_backtest(SPEC, READER, progress=calls.append)
    fractions = [p.fraction for p in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 0.9
    stages = [p.stage for p in calls]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == STAGES
    assert len([s for s in stages if s == "running_strategy"]) >= 4
    done = [p.symbols_done for p in calls]
    assert done == sorted(done) and done[-1] == 3 and {p.symbols_total for p in calls} == {3}


def test_given_stage_fractions_when_reporting_then_within_contract_ranges():
    calls: list[Progress] = []
    run_backtest(SPEC, READER, progress=calls.append)
    bounds = {"loading_data": (0.0, 0.1), "running_strategy": (0.1, 0.8),
              "calculating_metrics": (0.8, 0.9)}
    for p in calls:
        low, high = bounds[p.stage]
        assert low <= p.fraction <= high, p


def test_given_a_short_then_a_long_symbol_then_the_first_counts_as_done_at_once():
    """100 + 9,900 bars: by candles the first symbol is 1 % of the work; it is still done."""
    rng = np.random.default_rng(3)
    frames = {}
    for name, bars in (("SHORT_KRW", 100), ("LONG_KRW", 9_900)):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, bars)))
        rows = np.column_stack([close, close * 1.002, close * 0.998, close,
                                rng.uniform(0, 10, bars)])
        frames[name] = frame(rows, start="2024-01-01", freq="min")
    calls: list[Progress] = []
    spec = RunSpec(strategy="volume_zone_breakout", symbols=list(frames), timeframe="1m")
    run_backtest(spec, reader_for(frames, "1m"), progress=calls.append)
    first_done = next(p for p in calls if p.symbols_done == 1)
    assert first_done.stage == "running_strategy" and first_done.fraction < 0.2


def test_given_a_symbol_without_data_then_it_counts_as_done():
    calls: list[Progress] = []
    spec = RunSpec(strategy="volume_zone_breakout", symbols=[*SYMBOLS, "NONE_KRW"],
                   timeframe="1m")
    doc = run_backtest(spec, READER, progress=calls.append)
    assert [f["symbol"] for f in doc["failed_symbols"]] == ["NONE_KRW"]
    assert calls[-1].symbols_done == calls[-1].symbols_total == 4


@pytest.mark.parametrize("cancel_after_polls", [1, 3, 6])
def test_given_cancel_requested_when_running_then_raises_and_stops_reporting(cancel_after_polls):
    polls, calls = [], []

    def should_cancel() -> bool:
        polls.append(1)
        return len(polls) >= cancel_after_polls

    result = None
    with pytest.raises(BacktestCancelled):
        result = run_backtest(SPEC, READER, progress=calls.append,
                              should_cancel=should_cancel)
    assert result is None
    assert len(polls) == cancel_after_polls and len(calls) == cancel_after_polls


def test_given_cancel_at_first_poll_when_running_then_no_data_is_read():
    class CountingReader:
        def __init__(self):
            self.gets = 0

        def get(self, key):
            self.gets += 1
            return READER.get(key)

        def list(self, prefix):
            return READER.list(prefix)

    reader = CountingReader()
    with pytest.raises(BacktestCancelled):
        run_backtest(SPEC, reader, should_cancel=lambda: True)
    assert reader.gets == 0
