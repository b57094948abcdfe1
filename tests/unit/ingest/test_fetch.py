"""`backtest data fetch` against a fake Upbit over real HTTP (ccxt → --api-base → loopback).

The fake answers Upbit's candle route (/v1/candles/minutes/60, newest first, `to`
exclusive); the tests script a 429, a page that overlaps the previous one, a gap, a dead
exchange, and check the request pattern, the stored rows and the reports.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backtest_client.cli import main
from tests.fake_exchange import Candle, FakeUpbit, btc_candles

FAST_RETRY = ["--backoff-s", "0.01", "--max-retries", "3"]


def fetch(api_base: str, out: Path, *extra: str, symbols: str = "BTC_KRW",
          since: str = "2024-01-01", until: str = "2024-01-25") -> list[str]:
    return ["data", "fetch", "--exchange", "upbit", "--symbols", symbols, "--timeframe", "1h",
            "--since", since, "--until", until, "--api-base", api_base, "--out", str(out),
            *FAST_RETRY, *extra]


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def stored(out: Path, key: str) -> list[tuple]:
    from backtest_engine.formats import read_parquet

    c = read_parquet((out / key).read_bytes(), key)
    return list(zip((c.ts_ns // 1_000_000).tolist(), c.open.tolist(), c.high.tolist(),
                    c.low.tolist(), c.close.tolist(), c.volume.tolist(), strict=True))


def expected(start: datetime, end: datetime) -> list[tuple]:
    lo, hi = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    return [(c.ts_ms, c.open, c.high, c.low, c.close, c.volume)
            for c in btc_candles() if lo <= c.ts_ms < hi]


def candle_requests(fake: FakeUpbit) -> list[str]:
    return [r["to"] for r in fake.requests]


def test_given_a_429_with_upbits_json_error_body_when_fetched_then_it_is_retried(
    upbit: FakeUpbit, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    upbit.status_on, upbit.json_error_on = {2: 429}, {2}

    doc = run_json(fetch(upbit.url, tmp_path), capsys)

    assert upbit.served_statuses[:3] == [200, 429, 200]
    assert candle_requests(upbit)[1] == candle_requests(upbit)[2]  # the same page again
    want = expected(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 26, tzinfo=UTC))
    assert stored(tmp_path, "BTC_KRW/1H/2024.parquet") == want
    assert doc["symbols"][0]["rows"] == len(want)


def test_given_a_429_an_overlapping_page_and_a_gap_when_fetched_then_rows_are_exact_and_reported(
    upbit: FakeUpbit, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    upbit.duplicate_on = {2}
    upbit.status_on = {3: 429}

    doc = run_json(fetch(upbit.url, tmp_path), capsys)

    want = expected(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 26, tzinfo=UTC))
    assert len(want) == 25 * 24 - 5
    assert stored(tmp_path, "BTC_KRW/1H/2024.parquet") == want
    (report,) = doc["symbols"]
    assert report["market_id"] == "KRW-BTC"
    assert report["rows"] == 595 and report["duplicates"] == 1
    assert report["first"] == "2024-01-01T00:00:00Z" and report["last"] == "2024-01-25T23:00:00Z"
    assert report["gaps"] == [{"after": "2024-01-10T04:00:00Z", "before": "2024-01-10T10:00:00Z",
                               "missing_bars": 5}]
    # Backwards with `to`, 200 a page, each `to` = the oldest candle of the page before;
    # the 429 (third request) is retried with the same `to`.
    tos = candle_requests(upbit)
    assert tos[0] == "2024-01-26T00:00:00.000Z"
    assert upbit.served_statuses == [200, 200, 429, 200]
    assert tos[2] == tos[3]
    assert all(r["count"] == "200" and r["market"] == "KRW-BTC" for r in upbit.requests)
    assert all(r["path"] == "/v1/candles/minutes/60" for r in upbit.requests)
    assert report["requests"] == 4
    assert sorted(p.name for p in (tmp_path / "BTC_KRW" / "1H").iterdir()) == ["2024.parquet"]


def test_given_fetched_data_when_listed_then_the_manifest_gives_rows_dates_and_source(
    upbit: FakeUpbit, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    run_json(fetch(upbit.url, tmp_path), capsys)

    doc = run_json(["data", "ls", "--dir", str(tmp_path)], capsys)

    assert doc == {"items": [{"symbol": "BTC_KRW", "timeframe": "1h",
                              "first": "2024-01-01T00:00:00Z", "last": "2024-01-25T23:00:00Z",
                              "rows": 595, "source": "upbit"}]}


def test_given_the_exchange_dies_mid_run_when_rerun_then_only_the_missing_year_is_fetched(
    upbit: FakeUpbit, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    # 2023-12-20 .. 2024-01-25: the 2023 part (12 days, 2 pages) is written first, then the
    # exchange answers 500 from the 3rd request on: the run stops during 2024.
    upbit.fail_from = 3
    argv = fetch(upbit.url, tmp_path, since="2023-12-20")

    code = main(argv)
    err = capsys.readouterr().err.strip()

    assert code == 1
    assert err.startswith("error: cannot reach upbit at ") and "\n" not in err
    assert "after 4 attempt(s)" in err
    year_2023 = expected(datetime(2023, 12, 20, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))
    assert stored(tmp_path, "BTC_KRW/1H/2023.parquet") == year_2023
    assert not (tmp_path / "BTC_KRW" / "1H" / "2024.parquet").exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]  # no temp files

    upbit.fail_from = None
    upbit.requests.clear()
    doc = run_json(argv, capsys)

    assert all(to >= "2024-01-01" for to in candle_requests(upbit))  # 2023 not asked again
    assert doc["symbols"][0]["files"] == ["BTC_KRW/1H/2024.parquet"]
    assert stored(tmp_path, "BTC_KRW/1H/2023.parquet") == year_2023
    assert stored(tmp_path, "BTC_KRW/1H/2024.parquet") == expected(
        datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 26, tzinfo=UTC))
    assert doc["symbols"][0]["rows"] == len(year_2023) + 595

    upbit.requests.clear()
    again = run_json(argv, capsys)  # everything covered: not one candle request

    assert upbit.requests == [] and again["symbols"][0]["files"] == []


def test_given_a_later_until_when_rerun_then_only_the_new_bars_are_requested(
    upbit: FakeUpbit, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    run_json(fetch(upbit.url, tmp_path, until="2024-01-20"), capsys)
    upbit.requests.clear()

    doc = run_json(fetch(upbit.url, tmp_path, until="2024-01-25"), capsys)

    # 5 new days = 120 bars: one page, `to` at the new end; the page's older bars are known.
    assert candle_requests(upbit) == ["2024-01-26T00:00:00.000Z"]
    assert doc["symbols"][0]["duplicates"] == 0
    assert stored(tmp_path, "BTC_KRW/1H/2024.parquet") == expected(
        datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 26, tzinfo=UTC))


def test_given_an_unreachable_exchange_when_fetched_then_one_line_exit_1_and_no_files(
    closed_port_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"

    code = main(fetch(closed_port_url, out))
    err = capsys.readouterr().err

    assert code == 1
    assert err.count("\n") == 1 and err.startswith(f"error: cannot reach upbit at {closed_port_url}")
    assert not out.exists() or not any(out.rglob("*"))


def test_given_an_unknown_market_when_fetched_then_one_line_exit_1_and_no_files(
    upbit: FakeUpbit, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(fetch(upbit.url, tmp_path, symbols="BTC_KRW,DOGE_KRW"))
    err = capsys.readouterr().err

    assert code == 1
    assert err == "error: upbit has no market DOGE_KRW (DOGE/KRW)\n"
    assert upbit.requests == []  # checked before any candle is fetched
    assert not any(tmp_path.rglob("*"))


def test_given_env_api_base_and_two_symbols_in_other_forms_when_fetched_then_both_are_stored(
    upbit: FakeUpbit, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BACKTEST_EXCHANGE_API_BASE", upbit.url)
    argv = fetch("", tmp_path, symbols="krw-btc,ETH/KRW", until="2024-01-02")
    argv.remove("--api-base")
    argv.remove("")

    doc = run_json(argv, capsys)

    assert [s["symbol"] for s in doc["symbols"]] == ["BTC_KRW", "ETH_KRW"]
    assert {r["market"] for r in upbit.requests} == {"KRW-BTC", "KRW-ETH"}
    assert (tmp_path / "ETH_KRW" / "1H" / "2024.parquet").is_file()
    assert doc["symbols"][0]["rows"] == 48


def test_given_fetched_candles_when_backtested_by_the_engine_then_it_reads_exactly_those_rows(
    upbit: FakeUpbit, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from backtest_engine.candles import Candles

    run_json(fetch(upbit.url, tmp_path), capsys)

    doc = run_json(["run", "--strategy", "volume_long_candle", "--data-dir", str(tmp_path),
                    "--symbols", "BTC_KRW", "--timeframe", "1h", "--start", "2024-01-01",
                    "--end", "2024-01-25"], capsys)

    rows = expected(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 26, tzinfo=UTC))
    import numpy as np

    cols = list(zip(*rows, strict=True))
    reference = Candles(np.array(cols[0], dtype="int64") * 1_000_000,
                        *(np.array(c, dtype="float64") for c in cols[1:]))
    (symbol,) = doc["symbols"]
    assert symbol["data"]["rows"] == 595
    assert symbol["data"]["sha256"] == reference.sha256()
    assert doc["failed_symbols"] == []


def test_given_candles_that_break_a_rule_when_fetched_then_nothing_is_written(
    upbit: FakeUpbit, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = btc_candles()
    i = next(n for n, c in enumerate(bad) if c.ts_ms >= 1704067200000 + 5 * 3_600_000)
    c = bad[i]
    bad[i] = Candle(c.ts_ms, c.open, c.low - 1.0, c.low, c.close, c.volume)  # high < low
    upbit.candles["KRW-BTC"] = bad

    code = main(fetch(upbit.url, tmp_path, until="2024-01-02"))
    err = capsys.readouterr().err

    assert code == 1
    assert "row 6 (2024-01-01T05:00:00Z): high < low" in err and err.count("\n") == 1
    assert not any(tmp_path.rglob("*.parquet"))


def test_given_older_years_in_an_alias_folder_when_fetched_then_new_years_join_that_folder(
    upbit: FakeUpbit, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    import pandas as pd

    from backtest_engine.formats import to_parquet_layout

    # A hand-made 2023 file in the older Upbit-style folder, without coverage metadata.
    old = [c for c in btc_candles() if c.ts_ms < 1704067200000]
    frame = pd.DataFrame([(c.ts_ms, c.open, c.high, c.low, c.close, c.volume) for c in old],
                         columns=["timestamp", "open", "high", "low", "close", "volume"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="ms", utc=True)
    ((_, body),) = to_parquet_layout(frame, "BTC_KRW", "1h").items()
    (tmp_path / "KRW-BTC" / "1H").mkdir(parents=True)
    (tmp_path / "KRW-BTC" / "1H" / "2023.parquet").write_bytes(body)

    doc = run_json(fetch(upbit.url, tmp_path, since="2023-12-20"), capsys)
    result = run_json(["run", "--strategy", "volume_long_candle", "--data-dir", str(tmp_path),
                       "--symbols", "BTC_KRW", "--timeframe", "1h"], capsys)

    assert doc["symbols"][0]["files"] == ["KRW-BTC/1H/2024.parquet"]  # 2023 was covered
    assert not (tmp_path / "BTC_KRW").exists()
    assert all(to >= "2024-01-01" for to in candle_requests(upbit))
    assert result["symbols"][0]["data"]["rows"] == len(old) + 595


def test_given_until_before_since_when_fetched_then_one_line_and_no_request(
    upbit: FakeUpbit, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(fetch(upbit.url, tmp_path, since="2024-02-01", until="2024-01-01"))

    assert code == 1
    assert capsys.readouterr().err == "error: --since must be before or equal to --until\n"
    assert upbit.requests == []


def test_given_no_api_base_then_the_exchange_url_names_its_real_host() -> None:
    from backtest_ingest.exchanges import ExchangeClient

    client = ExchangeClient("upbit")
    assert "{hostname}" not in client.base_url
    assert client.base_url.startswith("https://") and client.exchange.hostname in client.base_url
