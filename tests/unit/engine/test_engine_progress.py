"""Progress cadence/monotonicity and cancellation, on a fake clock (no sleeps)."""

import numpy as np
import pytest
from engine_helpers import frame, reader_for

from backtest_engine import BacktestCancelled, RunSpec, run_backtest

STAGES = ["loading_data", "running_strategy", "calculating_metrics"]


class FakeClock:
    """Advances ``step_s`` seconds every time it is read: work time = checkpoints."""

    def __init__(self, step_s: float):
        self.now, self.step_s = 0.0, step_s

    def __call__(self) -> float:
        self.now += self.step_s
        return self.now


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


def test_given_long_run_when_reporting_then_monotonic_stages_and_gaps_under_half_second():
    clock, calls = FakeClock(0.1), []
    run_backtest(SPEC, READER, progress=lambda f, s: calls.append((clock.now, f, s)),
                 clock=clock)
    fractions = [f for _t, f, _s in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 0.9
    stages = [s for _t, _f, s in calls]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == STAGES
    times = [t for t, _f, _s in calls]
    assert max(np.diff(times)) <= 0.5
    assert len([s for s in stages if s == "running_strategy"]) >= 4


def test_given_stage_fractions_when_reporting_then_within_contract_ranges():
    calls = []
    run_backtest(SPEC, READER, progress=lambda f, s: calls.append((f, s)), clock=FakeClock(0.1))
    bounds = {"loading_data": (0.0, 0.1), "running_strategy": (0.1, 0.8),
              "calculating_metrics": (0.8, 0.9)}
    for fraction, stage in calls:
        low, high = bounds[stage]
        assert low <= fraction <= high, (fraction, stage)


@pytest.mark.parametrize("cancel_after_polls", [1, 3, 6])
def test_given_cancel_requested_when_running_then_raises_and_stops_reporting(cancel_after_polls):
    polls, calls = [], []

    def should_cancel() -> bool:
        polls.append(1)
        return len(polls) >= cancel_after_polls

    result = None
    with pytest.raises(BacktestCancelled):
        result = run_backtest(SPEC, READER, progress=lambda f, s: calls.append(f),
                              should_cancel=should_cancel, clock=FakeClock(0.1))
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
