"""Data loading: CSV/Parquet, validation errors, layout and alias directories, windows."""

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from engine_helpers import EXAMPLE_A, FIXTURES, frame, reader_for

from backtest_engine import (
    DataError,
    LocalDirReader,
    NoDataError,
    RunSpec,
    infer_timeframe,
    load_csv,
    run_backtest,
    to_parquet_layout,
)
from backtest_engine.formats import read_parquet

CSV_HEADER = "timestamp,open,high,low,close,volume\n"
GOOD_ROW = "2024-01-01T00:00:00Z,100,102,100,101,100\n"


def _write_layout(root, layout: dict[str, bytes]) -> None:
    for key, data in layout.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _spec(symbols, **kw) -> RunSpec:
    return RunSpec(strategy="volume_zone_breakout", params={"volume_window": 3},
                   symbols=symbols, **kw)


@pytest.mark.parametrize(
    ("second_row", "rule"),
    [
        ("2024-01-02T00:00:00Z,100,99,101,100,1\n", "high < low"),
        ("2024-01-02T00:00:00Z,100,102,99,100,-1\n", "negative volume"),
        ("2024-01-02T00:00:00Z,100,,99,100,1\n", "high is NaN"),
        ("2024-01-01T00:00:00Z,100,102,99,100,1\n", "duplicate timestamp"),
        ("2023-12-31T00:00:00Z,100,102,99,100,1\n", "not sorted"),
        ("2024-01-02T00:00:00Z,0,102,99,100,1\n", "open <= 0"),
    ],
)
def test_given_bad_second_row_when_loading_csv_then_error_names_file_row_and_rule(
        tmp_path, second_row, rule):
    path = tmp_path / "bad.csv"
    path.write_text(CSV_HEADER + GOOD_ROW + second_row)
    with pytest.raises(DataError) as info:
        load_csv(path)
    message = str(info.value)
    assert str(path) in message and "row 2" in message and rule in message


def test_given_missing_column_when_loading_csv_then_error_names_it():
    with pytest.raises(DataError, match=r"mem.csv: missing column\(s\) volume"):
        load_csv(b"timestamp,open,high,low,close\n2024-01-01T00:00:00Z,1,1,1,1\n", "mem.csv")


def test_given_fixture_with_high_below_low_when_loading_then_row_3_reported():
    with pytest.raises(DataError, match=r"bad-high-low.csv: row 3 \(2024-01-03T00:00:00Z\)"):
        load_csv(FIXTURES / "bad-high-low.csv")


def test_given_csv_with_z_times_when_loading_then_utc_ns_frame_and_daily_timeframe():
    df = load_csv(FIXTURES / "BTC_KRW-1d.csv")
    assert str(df["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert len(df) == 7 and df["high"].dtype == np.float64
    assert infer_timeframe(df) == "1d"
    assert infer_timeframe(frame(EXAMPLE_A, freq="5min")) == "5m"


def test_given_irregular_step_when_inferring_timeframe_then_data_error():
    with pytest.raises(DataError, match="most common step"):
        infer_timeframe(frame(EXAMPLE_A, freq="7min"))


def test_given_two_years_when_writing_layout_then_one_file_per_utc_year_round_trips(tmp_path):
    df = frame(EXAMPLE_A, start="2023-12-29")
    layout = to_parquet_layout(df, "krw-btc", "1D")
    assert sorted(layout) == ["BTC_KRW/1D/2023.parquet", "BTC_KRW/1D/2024.parquet"]
    _write_layout(tmp_path, layout)
    back = read_parquet((tmp_path / "BTC_KRW/1D/2023.parquet").read_bytes(), "k")
    assert len(back) == 3 and back.close.tolist() == [101, 102, 103]
    doc = run_backtest(_spec(["BTC_KRW"]), LocalDirReader(tmp_path, source="synthetic"))
    data = doc["symbols"][0]["data"]
    assert (data["rows"], data["first"], data["last"], data["source"]) == (
        7, "2023-12-29T00:00:00Z", "2024-01-04T00:00:00Z", "synthetic")


def test_given_csv_when_converted_to_parquet_then_hash_and_result_equal_csv_run(tmp_path):
    df = load_csv(FIXTURES / "BTC_KRW-1d.csv")
    _write_layout(tmp_path, to_parquet_layout(df, "BTC_KRW", "1d"))
    from_dir = run_backtest(_spec(["BTC_KRW"]), LocalDirReader(tmp_path))
    from_memory = run_backtest(_spec(["BTC_KRW"]), reader_for({"BTC_KRW": frame(EXAMPLE_A)}))
    a, b = from_dir["symbols"][0], from_memory["symbols"][0]
    assert a["data"]["sha256"] == b["data"]["sha256"]
    assert a["signals"] == b["signals"]
    assert a["data"]["source"] == "BTC_KRW/1D/2024.parquet"


@pytest.mark.parametrize(("start", "end", "rows", "first", "last"), [
    (date(2024, 1, 2), date(2024, 1, 4), 3, "2024-01-02T00:00:00Z", "2024-01-04T23:00:00Z"),
    (date(2024, 1, 4), date(2024, 1, 4), 1, "2024-01-04T00:00:00Z", "2024-01-04T23:00:00Z"),
])
def test_given_hourly_bars_when_windowing_then_end_day_included_next_midnight_excluded(
        start, end, rows, first, last):
    hours = [(100, 101, 99, 100, 1)] * (24 * 7)
    reader = reader_for({"BTC_KRW": frame(hours, start="2024-01-01", freq="h")}, "1h")
    doc = run_backtest(_spec(["BTC_KRW"], start_date=start, end_date=end, timeframe="1h"),
                       reader)
    data = doc["symbols"][0]["data"]
    assert (data["rows"], data["first"], data["last"]) == (rows * 24, first, last)
    assert (doc["start_date"], doc["end_date"]) == (start.isoformat(), end.isoformat())


def test_given_alias_directory_when_requesting_canonical_symbol_then_found(tmp_path):
    layout = to_parquet_layout(frame(EXAMPLE_A), "BTC_KRW", "1d")
    _write_layout(tmp_path, {k.replace("BTC_KRW/", "KRW-BTC/"): v for k, v in layout.items()})
    for requested in ("BTC_KRW", "btc/krw", "KRW-BTC"):
        doc = run_backtest(_spec([requested]), LocalDirReader(tmp_path))
        assert doc["symbols"][0]["symbol"] == "BTC_KRW"
        assert doc["symbols"][0]["data"]["rows"] == 7


def test_given_one_symbol_without_data_when_running_then_reported_in_failed_symbols():
    reader = reader_for({"BTC_KRW": frame(EXAMPLE_A)})
    doc = run_backtest(_spec(["BTC_KRW", "ETH_KRW"]), reader)
    assert [s["symbol"] for s in doc["symbols"]] == ["BTC_KRW"]
    assert doc["failed_symbols"] == [{"symbol": "ETH_KRW",
                                      "reason": "No data files for ETH_KRW at 1d"}]
    json.dumps(doc, allow_nan=False)


def test_given_a_symbol_with_files_but_no_bar_in_the_window_then_its_reason_names_the_timeframe():
    reader = reader_for({"BTC_KRW": frame(EXAMPLE_A), "ETH_KRW": frame(EXAMPLE_A, "2023-01-01")})
    spec = _spec(["BTC_KRW", "ETH_KRW"], start_date=date(2024, 1, 1), end_date=date(2024, 1, 31))

    doc = run_backtest(spec, reader)

    assert doc["failed_symbols"] == [{"symbol": "ETH_KRW", "reason":
                                      "No data for ETH_KRW at 1d in 2024-01-01..2024-01-31"}]


def test_given_no_symbol_with_data_in_window_when_running_then_exact_no_data_message():
    reader = reader_for({"BTC_KRW": frame(EXAMPLE_A)})
    spec = _spec(["BTC_KRW", "eth/krw"], start_date=date(2025, 1, 1), end_date=date(2025, 1, 31))
    with pytest.raises(NoDataError) as info:
        run_backtest(spec, reader)
    assert str(info.value) == (
        "No data found for symbols ['BTC_KRW', 'ETH_KRW'] in range 2025-01-01 ~ 2025-01-31")


def test_given_corrupt_parquet_when_loading_then_data_error_names_key(tmp_path):
    (tmp_path / "BTC_KRW/1D").mkdir(parents=True)
    (tmp_path / "BTC_KRW/1D/2024.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="BTC_KRW/1D/2024.parquet"):
        run_backtest(_spec(["BTC_KRW"]), LocalDirReader(tmp_path))


def test_given_parquet_with_bad_row_when_running_then_error_names_key_and_row(tmp_path):
    from backtest_engine.formats import fastparquet  # imported quietly by the engine

    df = frame(EXAMPLE_A)
    df.loc[4, "volume"] = -5.0
    df["timestamp"] = df["timestamp"].dt.tz_localize(None)
    (tmp_path / "BTC_KRW/1D").mkdir(parents=True)
    fastparquet.write(str(tmp_path / "BTC_KRW/1D/2024.parquet"), df, write_index=False)
    with pytest.raises(DataError, match=r"BTC_KRW/1D/2024.parquet: row 5 .*negative volume"):
        run_backtest(_spec(["BTC_KRW"]), LocalDirReader(tmp_path))


def test_given_result_when_hashing_then_sha256_matches_documented_definition():
    import hashlib

    doc = run_backtest(_spec(["BTC_KRW"]), reader_for({"BTC_KRW": frame(EXAMPLE_A)}))
    df = frame(EXAMPLE_A)
    digest = hashlib.sha256(
        df["timestamp"].dt.tz_localize(None).dt.as_unit("ns").to_numpy().view("<i8").tobytes())
    for col in ["open", "high", "low", "close", "volume"]:
        digest.update(df[col].to_numpy("<f8").tobytes())
    assert doc["symbols"][0]["data"]["sha256"] == digest.hexdigest()


def test_given_fewer_bars_than_window_when_running_then_no_signals_not_an_error():
    reader = reader_for({"BTC_KRW": frame(EXAMPLE_A[:3])})
    doc = run_backtest(_spec(["BTC_KRW"]), reader)
    assert doc["total_signals"] == 0 and doc["symbols"][0]["performance_curve"] is None
    assert pd.isna(doc["symbols"][0]["portfolio"]["profit_factor"])
