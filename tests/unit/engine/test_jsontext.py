"""``jsontext``: the document's long lists written as JSON from their columns
(``run_backtest(rows_as_json=True)``, what ``backtest run --json`` prints) encode to
the same JSON as the dicts of the plain document (docs/positions.md, "Speed")."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import orjson
import pandas as pd
import pytest
from engine_helpers import reader_for

from backtest_contract.position import PositionSpec
from backtest_engine import RunSpec, run_backtest
from backtest_engine.jsontext import (
    Dates,
    JsonRows,
    Labels,
    Times,
    encode_chunks,
    encode_document,
    iso_chars,
    json_rows,
    json_string,
    lines,
)
from backtest_engine.results import floats
from backtest_engine.sim import SymbolBars, simulate_portfolio, trade_log

RULE = {"name": "close_above_open", "entry": {"gt": [{"price": "close"}, {"price": "open"}]},
        "exit": {"lt": [{"price": "close"}, {"price": "open"}]}}


def _walk(bars: int, seed: int, start: str = "2023-12-30", freq: str = "5min") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, bars)))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0, 0.002, bars)) * close
    return pd.DataFrame({
        "timestamp": pd.date_range(start, periods=bars, freq=freq, tz="UTC"),
        "open": open_, "high": np.maximum(open_, close) + spread,
        "low": np.minimum(open_, close) - spread, "close": close,
        "volume": rng.uniform(0, 1000, bars)})


def _both(spec: RunSpec, reader) -> tuple[dict, dict]:
    """(plain document, the same run with rows_as_json), their volatile fields aligned."""
    plain = run_backtest(spec, reader, run_id="r", environment="test", execution_host="h")
    fast = run_backtest(spec, reader, run_id="r", environment="test", execution_host="h",
                        rows_as_json=True)
    fast["execution_time"] = plain["execution_time"]
    fast["metadata"] = plain["metadata"]
    return plain, fast


CASES = {
    "builtin, one symbol, 5m": (RunSpec(strategy="volume_zone_breakout", symbols=["BTC_KRW"],
                                        timeframe="5m"), {"BTC_KRW": 6000}, "5m"),
    "builtin, two symbols, 5m, stops": (
        RunSpec(strategy="volume_zone_breakout", symbols=["BTC_KRW", "ETH_KRW"],
                timeframe="5m", slippage_bps=3,
                position={"stop_loss": {"pct": 1}, "take_profit": {"pct": 2},
                          "time_exit_bars": 40, "max_open_positions": 2}),
        {"BTC_KRW": 5000, "ETH_KRW": 4000}, "5m"),
    "rule document, daily": (RunSpec(strategy=None, definition=RULE, symbols=["BTC_KRW"],
                                     timeframe="1d"), {"BTC_KRW": 400}, "1d"),
}


@pytest.mark.parametrize("name", CASES)
def test_given_a_real_run_when_rows_are_json_then_the_document_encodes_to_the_same_bytes(name):
    spec, bars, tf = CASES[name]
    frames = {s: _walk(n, i, freq="1D" if tf == "1d" else "5min")
              for i, (s, n) in enumerate(bars.items())}
    plain, fast = _both(spec, reader_for(frames, tf))
    encoded = encode_document(fast)
    assert encoded == orjson.dumps(plain)  # the same text, byte for byte
    assert json.loads(encoded) == json.loads(orjson.dumps(plain))
    assert isinstance(fast["symbols"][0]["signals"], JsonRows | list)
    assert fast["total_signals"] == plain["total_signals"] > 0
    assert b"".join(encode_chunks(fast, newline=True)) == encoded + b"\n"


def test_given_non_finite_trade_figures_when_rows_are_json_then_they_are_null_as_orjson_writes():
    frame = _walk(3000, 7)
    reader = reader_for({"BTC_KRW": frame}, "5m")
    spec = RunSpec(strategy="volume_zone_breakout", symbols=["BTC_KRW"], timeframe="5m")
    plain = run_backtest(spec, reader, run_id="r")
    trades = len(plain["portfolio"]["trade_log"])
    assert trades > 3
    # a real result with NaN / ±inf injected into its float columns, and one more symbol
    close = frame["close"].to_numpy()
    ts = frame["timestamp"].dt.tz_localize(None).dt.as_unit("ns").to_numpy().view("int64")
    bars = SymbolBars("BTC_KRW", ts, close, close * 1.01, close * 0.99, close * 1.001,
                      entry=np.arange(close.shape[0]) % 50 == 0)
    result = simulate_portfolio([bars, dataclasses.replace(bars, symbol="Ü\\n")],
                                PositionSpec(time_exit_bars=5), 0.0005, 0.0)
    assert result.trades > 3
    bad = np.array([np.nan, np.inf, -np.inf])
    result = dataclasses.replace(
        result, pnl=np.r_[bad, result.pnl[3:]], return_pct=np.r_[result.return_pct[:-3], bad],
        entry_price=np.r_[result.entry_price[:1], np.nan, result.entry_price[2:]])
    rows = trade_log(result, rows_as_json=True)
    plain_rows = trade_log(result)
    assert orjson.loads(encode_document({"t": rows}))["t"] == orjson.loads(
        orjson.dumps(plain_rows))
    assert encode_document({"t": rows}) == orjson.dumps({"t": plain_rows})
    assert orjson.loads(encode_document({"t": rows}))["t"][0]["pnl"] is None


def _plain(fields, count):
    """The dicts the builders make from the same columns (``floats``: NaN → None)."""
    def values(column):
        if isinstance(column, str):
            return [json.loads(column)] * count
        if isinstance(column, Times):
            return lines(column.chars)
        if isinstance(column, Dates):
            return [t[:10] for t in lines(column.chars)]
        if isinstance(column, Labels):
            return [column.names[c] for c in column.codes]
        if column.dtype.kind == "f":
            return floats(column)
        return column.tolist()
    cols = [(key, values(column)) for key, column in fields]
    return [{key: col[i] for key, col in cols} for i in range(count)]


@pytest.mark.parametrize("count", [0, 1, 2, 3, 257])
@pytest.mark.parametrize("layout", ["mixed", "floats only", "no floats", "float first",
                                    "float last", "float32 and ints"])
def test_given_columns_when_written_as_rows_then_json_equals_the_dicts(count, layout):
    rng = np.random.default_rng(count)
    x = rng.normal(0, 1e3, count) * 10.0 ** rng.integers(-12, 12, count)
    x[rng.random(count) < 0.1] = np.nan
    x[rng.random(count) < 0.05] = np.inf
    x[rng.random(count) < 0.05] = -np.inf
    ts = rng.integers(-5 * 10**18, 9 * 10**18, count)
    names = ["a", 'q"uote', "ü\\n\t", ""]
    fields = {
        "mixed": [("s", json_string("BTC")), ("t", Times(iso_chars(ts))), ("x", x),
                  ("d", Dates(iso_chars(ts))), ("y", x[::-1].copy()),
                  ("l", Labels(names, rng.integers(0, 4, count))),
                  ("n", rng.integers(-10**12, 10**12, count)), ("z", x * 3),
                  ("b", rng.random(count) < 0.5)],
        "floats only": [("x", x), ("y", x + 1)],
        "no floats": [("t", Times(iso_chars(ts))), ("l", Labels(names, rng.integers(0, 4, count))),
                      ("n", rng.integers(0, 3, count)), ("k", '"const"')],
        "float first": [("x", x), ("t", Times(iso_chars(ts)))],
        "float last": [("l", Labels(names, rng.integers(0, 4, count))), ("x", x)],
        "float32 and ints": [("f", x.astype(np.float32)), ("u", rng.integers(0, 9, count).astype(np.uint8)),
                             ("i", rng.integers(-9, 9, count).astype(np.int32))],
    }[layout]
    rows = json_rows(fields, count)
    assert len(rows) == count
    want = _plain(fields, count)
    assert encode_document({"r": rows}) == orjson.dumps({"r": want})


def test_given_a_column_of_the_wrong_length_when_writing_rows_then_value_error():
    with pytest.raises(ValueError, match="'y'"):
        json_rows([("x", np.zeros(3)), ("y", np.zeros(2))], 3)


def test_given_times_when_written_then_they_match_numpy_for_any_day():
    rng = np.random.default_rng(3)
    for ts in (rng.integers(-9 * 10**18, 9 * 10**18, 5000),  # sparse: one date per time
               np.sort(rng.integers(1.5e18, 1.51e18, 5000)),  # dense: a table of days
               np.array([0, -1, 86_399_999_999_999, -86_400 * 10**9, 951_782_400 * 10**9])):
        ts = ts.astype(np.int64)
        want = np.datetime_as_string(ts.astype("datetime64[ns]").astype("datetime64[s]"),
                                     timezone="UTC").tolist()
        assert lines(iso_chars(ts)) == want
