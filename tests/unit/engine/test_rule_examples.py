"""The rule documents shipped in examples/strategies/ (docs/rules.md): each is valid against
the published JSON Schema, parses, and trades on the shipped BTC_KRW daily sample; the
result carries the document and its version."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from backtest_contract.rules import document_version, parse_rule_document, rule_json_schema
from backtest_engine import MemoryReader, RunSpec, run_backtest, to_parquet_layout

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO / "examples" / "strategies").glob("*.json"))


@pytest.fixture(scope="module")
def reader() -> MemoryReader:
    df = pd.read_csv(REPO / "examples" / "data" / "BTC_KRW-1d.csv")
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    return MemoryReader(to_parquet_layout(df, "BTC_KRW", "1d"))


def test_there_are_at_least_five_examples():
    assert {p.stem for p in EXAMPLES} >= {"rsi_mean_reversion", "sma_ema_cross",
                                          "bollinger_breakout", "macd_adx_trend",
                                          "donchian_atr_breakout"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_given_an_example_document_when_run_on_the_sample_then_it_trades(path, reader):
    document = json.loads(path.read_text())
    jsonschema.Draft202012Validator(rule_json_schema()).validate(document)
    assert parse_rule_document(document).name == path.stem
    spec = RunSpec(strategy=None, definition=document, symbols=["BTC_KRW"], timeframe="1d")
    result = run_backtest(spec, reader, run_id="example", environment="test",
                          execution_host="test")
    assert result["definition"] == document
    assert result["definition_version"] == document_version(document)
    trades = result["symbols"][0]["portfolio"]["trade_log"]
    assert len(trades) > 0, path.stem
    if "position" in document and "stop_loss" in document["position"]:
        assert {t["exit_reason"] for t in trades} <= {"stop_loss", "take_profit", "signal",
                                                      "end_of_data"}
