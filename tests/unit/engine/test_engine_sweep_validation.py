"""Sweep shards feed PBO and walk-forward: block sums that give the PBO of the full return
matrix, and per-range scores equal to single simulations restricted to the ranges."""

import itertools

import numpy as np
import pytest
from engine_helpers import frame, reader_for

from backtest_core.aggregate import walk_forward_block
from backtest_engine import RunSpec, run_backtest
from backtest_engine.candles import Candles
from backtest_engine.loading import load_symbol
from backtest_engine.sim import SymbolBars, portfolio_block, simulate_symbol
from backtest_engine.stats import pbo_direct, pbo_from_blocks
from backtest_engine.strategies import resolve
from backtest_engine.sweep import WalkForward, combination_plan, run_sweep_shard

GRID = {"vol_ma_window": [3, 5, 8], "body_pct": [0.004, 0.01]}


def _rows(n: int, phase: int) -> list[tuple]:
    out = []
    for i in range(n):
        o = 100 + 6 * np.sin((i + phase) / 5) + (i % 7) * 0.4
        c = o * (1 + 0.02 * np.cos((i * 3 + phase) / 4))
        out.append((o, max(o, c) * 1.004, min(o, c) * 0.996, c, 50 + (i * 37 + phase) % 90))
    return out


def _combos() -> list[dict]:
    return [{"vol_multiplier": 1.0, **dict(zip(GRID, v, strict=True))}
            for v in itertools.product(*GRID.values())]


def _reader():
    return reader_for({"BTC_KRW": frame(_rows(90, 0)),
                       "ETH_KRW": frame(_rows(70, 3), start="2024-02-10")})


def test_given_two_shards_when_combining_block_sums_then_pbo_equals_the_direct_definition():
    reader, combos = _reader(), _combos()
    spec = RunSpec(strategy="volume_long_candle", symbols=["BTC_KRW"])

    halves = [run_sweep_shard(spec, reader, "BTC_KRW", combos[:3], pbo_blocks=4),
              run_sweep_shard(spec, reader, "BTC_KRW", combos[3:], pbo_blocks=4)]

    entries = [e for shard in halves for e in shard["entries"]]
    sharded = pbo_from_blocks(halves[0]["pbo_rows"], [e["pbo_sum"] for e in entries],
                              [e["pbo_sumsq"] for e in entries])
    columns = []
    for combo in combos:
        single = run_backtest(RunSpec(strategy="volume_long_candle", params=combo,
                                      symbols=["BTC_KRW"]), reader)
        equity = np.array(single["symbols"][0]["portfolio"]["equity_curve"]["equity"])
        columns.append(equity[1:] / equity[:-1] - 1.0)
    direct = pbo_direct(np.column_stack(columns), 4)
    assert halves[0]["pbo_rows"] == 89
    assert sharded.pbo is not None and sharded.pbo == direct.pbo
    assert sharded.logits == pytest.approx(direct.logits, abs=1e-9)


def _reference_sharpe(reader, symbol: str, combo: dict, first_ns: int, last_ns: int):
    """Brute force: one combination's masks on the whole window, one simulation on the
    symbol's bars between two union timestamps (None when fewer than 2 bars)."""
    ref, strategy = resolve("volume_long_candle", None)
    plan = combination_plan(ref, strategy, combo, None)
    c: Candles = load_symbol(reader, symbol, "1d", None, None).candles
    masks = next(strategy.masks_for(c, [plan.params], lambda _n: None))
    inside = np.flatnonzero((c.ts_ns >= first_ns) & (c.ts_ns <= last_ns))
    if inside.shape[0] < 2:
        return None
    bars = SymbolBars(symbol, c.ts_ns, c.open, c.high, c.low, c.close,
                      entry=masks.entry, exit=masks.exit, atr={})
    lo, hi = int(inside[0]), int(inside[-1]) + 1
    own = simulate_symbol(bars, plan.position, 5 / 1e4, 0.0, bar_range=(lo, hi))
    bh = (c.close[hi - 1] / c.close[lo] - 1) * 100
    return portfolio_block(own, 86_400, bh, 5.0, 0.0, detail=False)["sharpe"]


@pytest.mark.parametrize("anchored", [False, True])
def test_given_two_symbols_when_walking_forward_then_folds_match_brute_force(anchored):
    reader, combos = _reader(), _combos()
    symbols = ["BTC_KRW", "ETH_KRW"]
    spec = RunSpec(strategy="volume_long_candle", symbols=symbols)
    wf = WalkForward(folds=3, anchored=anchored, rank_by="portfolio.sharpe")

    shards = [run_sweep_shard(spec, reader, s, combos, walk_forward=wf) for s in symbols]
    block = walk_forward_block(combos, shards[0]["wf_ranges"],
                               [s["entries"] for s in shards], False)

    union = np.unique(np.concatenate([load_symbol(reader, s, "1d", None, None).candles.ts_ns
                                      for s in symbols]))
    t = union.shape[0]
    edges = [j * t // 4 for j in range(5)]
    assert t == 110 and shards[1]["wf_ranges"] == shards[0]["wf_ranges"]
    seen: set[float] = set()
    for j, fold in enumerate(block["folds"], start=1):
        train = (0 if anchored else edges[j - 1], edges[j])
        test = (edges[j], edges[j + 1])

        def mean(combo, r):
            values = [_reference_sharpe(reader, s, combo, union[r[0]], union[r[1] - 1])
                      for s in symbols]
            values = [v for v in values if v is not None]
            return float(np.mean(values)) if values else None

        train_scores = [mean(c, train) for c in combos]
        best = max(range(len(combos)), key=lambda i: (train_scores[i] is not None,
                                                       train_scores[i] or 0.0, -i))
        assert fold["best_params"] == combos[best]
        assert fold["train_score"] == pytest.approx(train_scores[best], abs=1e-9)
        assert fold["test_score"] == pytest.approx(mean(combos[best], test), abs=1e-9)
        assert fold["test_score"] is not None
        seen.update(round(v, 9) for v in train_scores if v is not None)
        assert fold["test"]["first"] == str(np.datetime64(int(union[test[0]]), "ns"))[:19] + "Z"
    assert len(seen) > 3  # the combinations differ: the choice of a best is a real one
    assert block["is_score"] == pytest.approx(np.mean([f["train_score"] for f in block["folds"]]))


def test_given_another_symbol_without_data_when_walking_forward_then_the_union_skips_it():
    reader, combos = _reader(), _combos()[:2]
    wf = WalkForward(folds=2, anchored=False, rank_by="portfolio.total_return_pct")
    alone = RunSpec(strategy="volume_long_candle", symbols=["BTC_KRW"])
    with_missing = RunSpec(strategy="volume_long_candle", symbols=["BTC_KRW", "XRP_KRW"])

    shard = run_sweep_shard(with_missing, reader, "BTC_KRW", combos, walk_forward=wf)

    reference = run_sweep_shard(alone, reader, "BTC_KRW", combos, walk_forward=wf)
    assert shard["wf_ranges"] == reference["wf_ranges"]
    assert shard["wf_ranges"][2] == {"first": "2024-01-31T00:00:00Z",
                                     "last": "2024-02-29T00:00:00Z"}  # test 1: bars 30..59
    assert [e["wf_scores"] for e in shard["entries"]] == \
        [e["wf_scores"] for e in reference["entries"]]


def test_given_a_signal_metric_when_walking_forward_then_a_range_counts_its_own_signals():
    reader, combos = _reader(), _combos()
    wf = WalkForward(folds=2, anchored=True, rank_by="total_signals")
    spec = RunSpec(strategy="volume_long_candle", symbols=["BTC_KRW"])

    shard = run_sweep_shard(spec, reader, "BTC_KRW", combos, walk_forward=wf)

    for combo, entry in zip(combos, shard["entries"], strict=True):
        single = run_backtest(RunSpec(strategy="volume_long_candle", params=combo,
                                      symbols=["BTC_KRW"]), reader)
        stamps = [s["timestamp"] for s in single["symbols"][0]["signals"]]
        expected = [float(sum(r["first"] <= t <= r["last"] for t in stamps))
                    for r in shard["wf_ranges"]]
        assert entry["wf_scores"] == expected and sum(expected) > 0
