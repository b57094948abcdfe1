"""PBO by CSCV (backtest_engine.stats.pbo): the worked example, the block-statistics
implementation against the definition, ties, the dropped rows and when PBO is null."""

import doctest
import functools
import importlib
import itertools
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest_engine.adapter import Engine
from backtest_engine.stats import (
    block_fields,
    block_statistics,
    deflated_sharpe,
    pbo_direct,
    pbo_from_blocks,
)
from backtest_engine.stats import pbo as pbo_module

# One row per bar, one column per combination (docs/sweeps.md, S = 4, N = 3, T = 8).
WORKED = np.array([(.02, 0, -.01), (.01, .01, 0), (-.01, .01, .02), (-.02, 0, .01),
                   (.03, -.01, 0), (.01, 0, .01), (-.03, .02, 0), (-.01, .01, -.01)])


def _by_blocks(returns: np.ndarray, blocks: int):
    sums, sums_sq = block_statistics(returns, blocks)
    return pbo_from_blocks(returns.shape[0], sums.T, sums_sq.T)


def _assert_same(a, b) -> None:
    assert a.pbo == b.pbo and a.reason == b.reason
    assert np.allclose(a.logits, b.logits, rtol=0, atol=1e-12)


@pytest.mark.parametrize("compute", [pbo_direct, _by_blocks])
def test_given_the_worked_example_when_computed_then_logits_and_pbo_match(compute):
    result = compute(WORKED, 4)
    # in-sample blocks {0,1} {0,2} {0,3} {1,2} {1,3} {2,3}; ln 3 = 1.0986, ln 0.6 = −0.5108
    assert [round(x, 3) for x in result.logits] == [1.099, -1.099, -1.099, -1.099, -0.511,
                                                    1.099]
    assert result.pbo == 4 / 6 and result.reason is None


def test_given_the_worked_example_then_blocks_match_the_definition_to_1e12():
    _assert_same(_by_blocks(WORKED, 4), pbo_direct(WORKED, 4))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(8, 90),
       columns=st.integers(2, 12), blocks=st.sampled_from([4, 6, 8]),
       zero_share=st.floats(0, 0.9))
def test_given_random_returns_when_computed_by_blocks_then_equal_to_the_definition(
        seed, rows, columns, blocks, zero_share):
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.001, 0.02, (rows, columns))
    returns[rng.random((rows, columns)) < zero_share] = 0.0  # flat bars, as out of a trade
    _assert_same(_by_blocks(returns, blocks), pbo_direct(returns, blocks))


def test_given_ties_up_to_rounding_then_they_share_the_average_rank_in_both():
    rng = np.random.default_rng(7)
    strong = rng.normal(0.004, 0.01, 64)
    # its rows shuffled inside each of 8 blocks: the same metrics but for float rounding
    shuffled = np.concatenate([rng.permutation(b) for b in strong.reshape(8, 8)])
    weak = rng.normal(-0.004, 0.01, (64, 2))
    returns = np.column_stack([strong, shuffled, weak])
    # n* is one of the tied pair, which shares ranks 3 and 4 out of sample: ω = 3.5 / 5
    for result in (_by_blocks(returns, 8), pbo_direct(returns, 8)):
        assert result.logits == pytest.approx([np.log(0.7 / 0.3)] * 70, abs=1e-12)
        assert result.pbo == 0.0


def test_given_flat_and_duplicate_combinations_then_both_implementations_agree():
    rng = np.random.default_rng(8)
    base = rng.normal(0.0005, 0.01, (64, 3))
    returns = np.column_stack([base, base[:, 1], np.zeros(64), np.full(64, 0.001)])
    result = _by_blocks(returns, 8)
    _assert_same(result, pbo_direct(returns, 8))
    assert result.pbo is not None and 0 < result.pbo < 1


def test_given_identical_combinations_then_every_logit_is_zero_and_pbo_is_one():
    # n* = the first of the tie; out of sample both share ranks 1 and 2: ω = 1.5 / 3 = ½
    column = np.random.default_rng(3).normal(0, 0.01, 40)
    result = _by_blocks(np.column_stack([column, column]), 4)
    assert result.logits == (0.0,) * 6 and result.pbo == 1.0
    _assert_same(result, pbo_direct(np.column_stack([column, column]), 4))


def test_given_an_in_sample_tie_then_the_first_combination_is_chosen():
    # identical in blocks 0 and 1, combination 0 is the worse one in blocks 2 and 3
    first = np.array([.01, -.01, .02, 0, -.02, -.01, -.03, .01])
    second = np.concatenate([first[:4], [.02, .01, .03, -.01]])
    other = np.array([0, .01, -.01, .01, 0, .005, .01, 0])
    result = pbo_direct(np.column_stack([first, second, other]), 4)
    assert result.logits[0] < 0  # n* = 0 ranks worst out of sample; n* = 1 would rank best
    assert result.logits[0] == _by_blocks(np.column_stack([first, second, other]), 4).logits[0]


def test_given_rows_not_divisible_by_blocks_then_the_first_rows_are_dropped():
    rng = np.random.default_rng(11)
    returns = rng.normal(0, 0.01, (43, 5))  # 43 mod 4 = 3 rows dropped
    changed = returns.copy()
    changed[:3] = rng.normal(0, 0.5, (3, 5))
    assert _by_blocks(changed, 4) == _by_blocks(returns, 4)
    assert pbo_direct(changed, 4) == pbo_direct(returns, 4)
    sums, _ = block_statistics(returns, 4)
    assert sums[0] == pytest.approx(returns[3:13].sum(axis=0), abs=1e-15)


@pytest.mark.parametrize(("rows", "columns", "fragment"), [
    (31, 3, "at least 32 bar returns (2 per block of 16); the symbol has 31"),
    (100, 1, "at least 2 combinations"),
])
def test_given_too_few_rows_or_combinations_then_pbo_is_null_with_a_reason(rows, columns,
                                                                          fragment):
    returns = np.random.default_rng(0).normal(0, 0.01, (rows, columns))
    for result in (pbo_direct(returns, 16), _by_blocks(returns, 16)):
        assert result.pbo is None and fragment in (result.reason or "")


def test_given_exactly_two_rows_per_block_then_pbo_is_computed():
    returns = np.random.default_rng(5).normal(0, 0.01, (32, 4))
    result = _by_blocks(returns, 16)
    assert result.pbo is not None and len(result.logits) == 12_870
    _assert_same(result, pbo_direct(returns, 16))


def test_given_a_constant_nonzero_series_then_its_metric_is_zero_in_both():
    # spread only from rounding: 0 (like a flat series), not mean / 1e-18
    rng = np.random.default_rng(2)
    returns = np.column_stack([np.full(48, 0.1), rng.normal(0, 0.01, (48, 2))])
    _assert_same(_by_blocks(returns, 4), pbo_direct(returns, 4))


def test_given_the_engine_port_then_pbo_and_dsr_are_the_stats_modules():
    sums, sums_sq = block_statistics(WORKED, 4)
    outcome = Engine().pbo(8, sums.T.tolist(), sums_sq.T.tolist())
    assert outcome.pbo == 4 / 6 and outcome.pbo_reason is None
    assert outcome.logits == list(pbo_direct(WORKED, 4).logits)
    assert Engine().pbo(8, [], []).pbo_reason == "PBO needs at least 2 combinations"
    assert Engine().deflated_sharpe(0.1, 101, 0.0, 3.0, 0.0025, 2) == \
        deflated_sharpe(0.1, 101, 0.0, 3.0, 0.0025, 2)


@pytest.mark.parametrize("module", ["pbo", "deflated"])
def test_given_the_docstring_examples_then_they_hold(module):
    failures, tried = doctest.testmod(importlib.import_module(f"backtest_engine.stats.{module}"))
    assert tried >= 1 and failures == 0


def test_given_shard_entries_as_json_when_aggregated_through_the_port_then_the_definition():
    # what a shard stores per combination, read back from JSON, then the port's pbo
    rng = np.random.default_rng(9)
    returns = rng.normal(0.0003, 0.01, (203, 6))
    stored = json.loads(json.dumps([block_fields(returns[:, n], 6) for n in range(6)]))
    outcome = Engine().pbo(203, [e["pbo_sum"] for e in stored],
                           [e["pbo_sumsq"] for e in stored])
    direct = pbo_direct(returns, 6)
    assert outcome.pbo == direct.pbo and outcome.pbo_reason is None
    assert outcome.logits == pytest.approx(list(direct.logits), abs=1e-12)


def _blockwise_reference(rows: int, sums: np.ndarray, sums_sq: np.ndarray) -> list[float]:
    """λ per choice with each half's sums added block by block (the straightforward way)."""
    from backtest_engine.stats.pbo import _logits, _metric

    blocks = sums.shape[1]
    n = rows // blocks * (blocks // 2)
    logits = []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        rest = [b for b in range(blocks) if b not in chosen]
        is_m = _metric(sums[:, list(chosen)].sum(axis=1), sums_sq[:, list(chosen)].sum(axis=1), n)
        oos_m = _metric(sums[:, rest].sum(axis=1), sums_sq[:, rest].sum(axis=1), n)
        logits.extend(_logits(is_m[None], oos_m[None]).tolist())
    return logits


@functools.cache
def _halves_case(blocks: int) -> tuple[int, np.ndarray, np.ndarray, tuple[float, ...]]:
    """Returns with a tie and a flat combination, and their block-by-block logits (the slow
    reference, computed once per block count whatever the chunk size)."""
    rng = np.random.default_rng(blocks * 31)
    rows = blocks * 6 + 5
    returns = rng.normal(0.0005, 0.01, (rows, 9))
    returns[rng.random(returns.shape) < 0.5] = 0.0
    returns[:, 1] = returns[:, 0]  # a tie
    returns[:, 2] = 0.0  # a flat combination
    sums, sums_sq = block_statistics(returns, blocks)
    return rows, sums, sums_sq, tuple(_blockwise_reference(rows, sums.T, sums_sq.T))


@pytest.mark.parametrize("blocks", [4, 10, 16, 18])
@pytest.mark.parametrize("chunk", [1, 40, 1 << 16])
def test_given_halves_paired_with_complements_in_chunks_then_blockwise_sums_exactly(
        blocks, chunk, monkeypatch):
    # pbo_from_blocks scores each half once (as in-sample, and as its complement's
    # out-of-sample), from subset tables of 8 blocks, in chunks: every λ the same float
    monkeypatch.setattr(pbo_module, "_CHUNK_ELEMENTS", chunk)
    rows, sums, sums_sq, reference = _halves_case(blocks)
    result = pbo_from_blocks(rows, sums.T, sums_sq.T)
    expected = list(reference)
    assert list(result.logits) == expected
    assert result.pbo == sum(1 for x in expected if x <= 0) / len(expected)
