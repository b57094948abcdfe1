"""Fetched data in the service (moto S3 in-process): the inventory route, a backtest that
names the real source, the scheduled refresh, `--bucket`, CSV import and `make run`'s
loading of ./data next to the synthetic demo data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backtest_client.cli import main
from infra.local import demo_data, local_data
from tests.conftest import ROOT, AwsEnv
from tests.fake_exchange import FakeUpbit
from tests.unit.ingest.test_fetch import fetch, run_json

ENGINE_CSV = ROOT / "tests" / "data" / "engine" / "BTC_KRW-1d.csv"


@pytest.fixture
def bucket(aws: AwsEnv) -> str:
    from backtest_core.api import data_routes

    data_routes.data_store.cache_clear()
    return aws.env["BUCKET"]


def test_given_fetched_data_loaded_like_make_run_then_inventory_and_a_backtest_name_upbit(
    upbit: FakeUpbit, tmp_path: Path, capsys: pytest.CaptureFixture[str], aws: AwsEnv,
    bucket: str, api,
) -> None:
    run_json(fetch(upbit.url, tmp_path), capsys)
    s3 = aws.client("s3")

    real = local_data.load_layout_dirs(s3, bucket, "data/", [tmp_path])
    demo_data.seed(s3, bucket, "data/", (), synthetic=True, skip=real)
    inventory = api.call("GET", "/api/data/inventory")
    result = api.call("POST", "/api/backtests/run", body={
        "strategy": "volume_long_candle", "symbols": ["BTC_KRW"], "timeframe": "1h",
        "start_date": "2024-01-01", "end_date": "2024-01-25"})

    assert real == {("BTC_KRW", "1h")}
    assert inventory.status == 200
    items = {(i["symbol"], i["timeframe"]): i for i in inventory.body["items"]}
    assert items[("BTC_KRW", "1h")] == {
        "symbol": "BTC_KRW", "timeframe": "1h", "first": "2024-01-01T00:00:00Z",
        "last": "2024-01-25T23:00:00Z", "rows": 595, "source": "upbit"}
    assert items[("BTC_KRW", "1d")]["source"] == demo_data.SYNTHETIC_SOURCE  # the fallback
    assert items[("ETH_KRW", "1h")]["rows"] == 2 * 366 * 24 - 24  # 2024-2025, not 2026
    assert result.status == 200, result.body
    (symbol,) = result.body["symbols"]
    assert symbol["data"]["rows"] == 595
    assert symbol["data"]["source"].startswith("upbit (fetched 20")


def test_given_the_openapi_document_then_the_inventory_route_is_described_under_data(
    aws: AwsEnv, api,
) -> None:
    doc = api.call("GET", "/api/openapi.json").body

    operation = doc["paths"]["/api/data/inventory"]["get"]
    assert operation["tags"] == ["data"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/InventoryView")
    assert {"401", "422", "500"} <= set(operation["responses"])
    error = operation["responses"]["500"]["content"]["application/json"]["schema"]["$ref"]
    assert doc["components"]["schemas"][error.rsplit("/", 1)[1]]["required"] == ["detail"]
    tags = [t["name"] for t in doc["tags"]]
    assert tags.index("history") < tags.index("data") < tags.index("strategies")
    item = doc["components"]["schemas"]["InventoryItem"]["properties"]
    assert set(item) == {"symbol", "timeframe", "first", "last", "rows", "source"}


def test_given_an_empty_bucket_then_the_inventory_is_empty(aws: AwsEnv, bucket: str, api) -> None:
    reply = api.call("GET", "/api/data/inventory")

    assert (reply.status, reply.body) == (200, {"items": []})


def test_given_the_bucket_option_when_fetched_then_objects_carry_the_source_metadata(
    upbit: FakeUpbit, aws: AwsEnv, bucket: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = fetch(upbit.url, tmp_path, until="2024-01-02")
    argv[argv.index("--out"):argv.index("--out") + 2] = ["--bucket", bucket]

    doc = run_json(argv, capsys)

    head = aws.client("s3").head_object(Bucket=bucket, Key="data/BTC_KRW/1H/2024.parquet")
    assert head["Metadata"]["source"].startswith("upbit (fetched ")
    assert doc["store"] == f"s3://{bucket}/data/" and doc["symbols"][0]["rows"] == 48
    listed = run_json(["data", "ls", "--bucket", bucket], capsys)
    assert listed["items"][0]["rows"] == 48 and not list(tmp_path.iterdir())


def test_given_the_schedule_when_the_ingest_function_runs_twice_then_the_second_is_incremental(
    upbit: FakeUpbit, aws: AwsEnv, bucket: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backtest_core.datastore import S3DataStore, inventory
    from backtest_ingest.exchanges import RetryPolicy
    from backtest_ingest.scheduled import IngestSettings, refresh

    monkeypatch.setenv("INGEST_EXCHANGE", "upbit")
    monkeypatch.setenv("INGEST_SYMBOLS", "BTC_KRW, ETH_KRW")
    monkeypatch.setenv("INGEST_TIMEFRAMES", "1h")
    monkeypatch.setenv("INGEST_SINCE", "2024-01-20")
    monkeypatch.setenv("INGEST_API_BASE", upbit.url)
    cfg = IngestSettings.from_env()
    store = S3DataStore(aws.client("s3"), bucket, "data/")
    fast = RetryPolicy(max_retries=1, backoff_s=0.01)

    first = refresh(cfg, store, now=datetime(2024, 1, 25, 12, 30, tzinfo=UTC), retry=fast)
    upbit.requests.clear()
    second = refresh(cfg, store, now=datetime(2024, 1, 25, 15, 30, tzinfo=UTC), retry=fast)

    assert [(s["symbol"], s["last"]) for s in first] == [
        ("BTC_KRW", "2024-01-25T11:00:00Z"), ("ETH_KRW", "2024-01-25T11:00:00Z")]
    # Three more closed hours: one request per symbol, `to` = 1 ms after the last bar that
    # has closed at 15:30 (14:00 + 1 h ≤ 15:30); only the new bars are stored.
    assert [(r["market"], r["to"]) for r in upbit.requests] == [
        ("KRW-BTC", "2024-01-25T14:30:00.001Z"), ("KRW-ETH", "2024-01-25T14:30:00.001Z")]
    assert [(s["symbol"], s["last"], s["fetched_rows"]) for s in second] == [
        ("BTC_KRW", "2024-01-25T14:00:00Z", 3), ("ETH_KRW", "2024-01-25T13:00:00Z", 1)]
    btc = inventory(store).items[0]
    assert (btc.symbol, btc.rows, btc.last) == ("BTC_KRW", 5 * 24 + 15, "2024-01-25T14:00:00Z")


def test_given_a_dead_exchange_when_the_ingest_function_runs_then_it_raises_for_the_alarm(
    closed_port_url: str, aws: AwsEnv, bucket: str,
) -> None:
    from backtest_core.datastore import S3DataStore
    from backtest_ingest.errors import IngestError
    from backtest_ingest.exchanges import RetryPolicy
    from backtest_ingest.scheduled import IngestSettings, refresh

    cfg = IngestSettings(bucket=bucket, exchange="upbit", symbols=["BTC_KRW"],
                         timeframes=["1h", "1d"], since="2024-01-01", api_base=closed_port_url)
    store = S3DataStore(aws.client("s3"), bucket, "data/")

    with pytest.raises(IngestError, match=r"^1h: cannot reach upbit .*; 1d: cannot reach upbit"):
        refresh(cfg, store, retry=RetryPolicy(max_retries=0))
    assert store.list_files() == {}


def test_given_a_csv_when_imported_then_it_is_validated_stored_and_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    doc = run_json(["data", "import", str(ENGINE_CSV), "--symbol", "KRW-BTC", "--timeframe", "1D",
                    "--out", str(tmp_path)], capsys)
    listed = run_json(["data", "ls", "--dir", str(tmp_path)], capsys)

    rows = len(ENGINE_CSV.read_text().splitlines()) - 1
    assert doc["symbol"] == "BTC_KRW" and doc["rows"] == rows
    (item,) = listed["items"]
    assert (item["symbol"], item["timeframe"], item["rows"], item["source"]) == (
        "BTC_KRW", "1d", rows, "BTC_KRW-1d.csv")


@pytest.mark.parametrize(("csv", "timeframe", "message"), [
    ("bad-high-low.csv", "1d", "row 3 (2024-01-03T00:00:00Z): high < low"),
    ("BTC_KRW-1d.csv", "1h", "bars are 1d apart, not 1h (--timeframe)"),
])
def test_given_a_bad_csv_when_imported_then_one_line_names_the_problem_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], csv: str, timeframe: str, message: str,
) -> None:
    code = main(["data", "import", str(ENGINE_CSV.parent / csv), "--symbol", "BTC_KRW",
                 "--timeframe", timeframe, "--out", str(tmp_path)])
    err = capsys.readouterr().err

    assert code == 1 and message in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())


def test_given_the_api_when_data_ls_then_the_cli_prints_its_inventory(
    aws: AwsEnv, bucket: str, api, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backtest_client.http import BacktestClient

    s3 = aws.client("s3")
    demo_data.seed(s3, bucket, "data/", (), synthetic=True, skip={("ETH_KRW", "1h"),
                                                                   ("ETH_KRW", "1d")})
    monkeypatch.setattr(BacktestClient, "inventory",
                        lambda self: api.call("GET", "/api/data/inventory").body)

    code = main(["data", "ls"])
    out = capsys.readouterr().out

    assert code == 0
    assert "BTC_KRW" in out and "ETH_KRW" not in out
    assert json.dumps(demo_data.SYNTHETIC_SOURCE)[1:20] in out


def test_given_the_template_with_symbols_when_the_scheduled_function_is_invoked_then_it_stores(
    upbit: FakeUpbit, aws: AwsEnv, bucket: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from infra.local.functions import load_function
    from infra.local.template_model import build_model

    model = build_model(ROOT / "template.yaml", "https://sqs.us-east-1.amazonaws.com",
                        parameter_overrides={"IngestSymbols": "BTC_KRW",
                                             "IngestTimeframes": "1d"})
    spec = next(f for f in model.functions if f.logical_id == "IngestFunction")
    monkeypatch.setenv("INGEST_API_BASE", upbit.url)  # the fake exchange instead of Upbit
    upbit.candles["KRW-BTC"] = [c for c in upbit.candles["KRW-BTC"] if c.ts_ms % 86_400_000 == 0]
    function = load_function(spec, "us-east-1")

    reply = function.invoke({"source": "aws.events", "detail-type": "Scheduled Event"})

    assert spec.environment["INGEST_SINCE"] == "2024-01-01"
    (summary,) = reply["refreshed"]
    assert (summary["symbol"], summary["timeframe"], summary["files"]) == (
        "BTC_KRW", "1d", ["BTC_KRW/1D/2024.parquet"])
    assert summary["rows"] == 31  # the fake lists daily bars for January 2024
    head = aws.client("s3").head_object(Bucket=bucket, Key="data/BTC_KRW/1D/2024.parquet")
    assert head["Metadata"]["source"].startswith("upbit (fetched ")
    assert all(r["path"] == "/v1/candles/days" for r in upbit.requests)


def test_given_a_missing_bucket_when_fetched_then_one_line_names_s3_and_exit_1(
    upbit: FakeUpbit, aws: AwsEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    argv = fetch(upbit.url, tmp_path, until="2024-01-02")
    argv[argv.index("--out"):argv.index("--out") + 2] = ["--bucket", "no-such-bucket"]

    code = main(argv)
    err = capsys.readouterr().err

    assert code == 1
    assert err.startswith("error: S3: ") and "NoSuchBucket" in err and err.count("\n") == 1
