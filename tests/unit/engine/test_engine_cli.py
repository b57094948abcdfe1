"""The ``run`` command line: in-process via main() and as ``python -m backtest_engine.cli``."""

import json
import subprocess
import sys

import pytest
from engine_helpers import FIXTURES, REPO, frame

from backtest_engine import to_parquet_layout
from backtest_engine.cli import main

CSV = str(FIXTURES / "BTC_KRW-1d.csv")
A_PARAMS = '{"volume_window": 3, "num_bins": 4}'


def test_given_csv_when_running_with_json_then_prints_exactly_the_document(capsys):
    status = main(["run", "--strategy", "volume_zone_breakout", "--csv", CSV,
                   "--params", A_PARAMS, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert status == 0
    assert (doc["version"], doc["timeframe"], doc["total_signals"]) == ("1.3.0", "1d", 4)
    assert doc["symbols"][0]["symbol"] == "BTC_KRW"
    assert (doc["start_date"], doc["end_date"]) == ("2024-01-01", "2024-01-07")
    assert doc["symbols"][0]["data"]["source"] == CSV


def test_given_csv_and_symbol_and_dates_when_running_then_table_names_symbol(capsys):
    status = main(["run", "--strategy", "volume_long_candle", "--csv", CSV, "--symbol",
                   "krw-eth", "--start", "2024-01-02", "--end", "2024-01-05"])
    out = capsys.readouterr().out
    assert status == 0 and "ETH_KRW" in out and "2024-01-02 ~ 2024-01-05" in out


def test_given_data_dir_when_running_then_reads_layout(tmp_path, capsys):
    for key, data in to_parquet_layout(frame([(1, 2, 1, 2, 5)] * 30), "BTC_KRW", "1d").items():
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(data)
    status = main(["run", "--strategy", "volume_zone_breakout", "--data-dir", str(tmp_path),
                   "--symbols", "BTC_KRW,ETH_KRW", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert status == 0 and doc["failed_symbols"][0]["symbol"] == "ETH_KRW"


@pytest.mark.parametrize("argv", [
    ["--strategy", "nope", "--csv", CSV],
    ["--strategy", "volume_zone_breakout"],
    ["--strategy", "volume_zone_breakout", "--csv", "missing-file.csv"],
    ["--strategy", "volume_zone_breakout", "--csv", CSV, "--params", "{bad"],
    ["--strategy", "volume_zone_breakout", "--csv", CSV, "--params", '{"num_bins": 0}'],
    ["--strategy", "volume_zone_breakout", "--csv", CSV, "--start", "2024-13-01"],
    ["--strategy", "volume_zone_breakout", "--csv", CSV, "--start", "2025-01-01"],
    ["--strategy", "volume_zone_breakout", "--csv", str(FIXTURES / "bad-high-low.csv"),
     "--symbol", "BTC_KRW"],
    ["--strategy", "volume_zone_breakout", "--data-dir", str(FIXTURES)],
])
def test_given_bad_input_when_running_then_status_2_and_one_stderr_line(argv, capsys):
    status = main(["run", *argv])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("backtest run: error: ")


def test_given_module_entry_when_run_as_subprocess_then_prints_valid_document():
    proc = subprocess.run(
        [sys.executable, "-m", "backtest_engine.cli", "run", "--strategy",
         "volume_zone_breakout", "--csv", CSV, "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["version"] == "1.3.0"
    assert proc.stderr == ""


def test_given_bad_symbol_when_run_as_subprocess_then_exit_2_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "backtest_engine.cli", "run", "--strategy",
         "volume_zone_breakout", "--csv", CSV, "--symbol", "not a symbol"],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "not a symbol" in proc.stderr


def test_given_a_run_when_printed_then_the_headline_is_the_fee_aware_portfolio(capsys):
    argv = ["run", "--strategy", "volume_long_candle", "--csv", CSV]
    assert main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    portfolio = doc["portfolio"] or doc["symbols"][0]["portfolio"]  # the root block first
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == (
        f"portfolio: final equity {portfolio['final_equity']:.2f}  total return "
        f"{portfolio['total_return_pct']:.2f} %  buy & hold "
        f"{portfolio['buy_and_hold_return_pct']:.2f} %  max drawdown "
        f"{portfolio['max_drawdown_pct']:.2f} %  trades {portfolio['trades']}  skipped entries "
        f"{portfolio['skipped_entries']}")
    labels = [line.strip() for line in lines]
    assert labels.index("per-symbol portfolio (fee-aware)") < labels.index(
        "signal stats (gross, per signal; drawdown in points)")
    first = portfolio["trade_log"][0]
    trade_line = next(line for line in lines if line.startswith("  BTC_KRW"))
    assert first["entry_time"] in trade_line and first["exit_reason"] in trade_line
