"""S3CandleReader.version (docs/engine.md, "Warm caches"): what a listing and a read say of
an object agree, a rewrite is another version, and a warm worker's second load of the same
object reads nothing from S3."""

from __future__ import annotations

from datetime import UTC, date, datetime

from backtest_core.storage import S3CandleReader
from backtest_engine import warm
from backtest_engine.loading import load_symbol
from tests.conftest import _layout

KEY = "BTC_KRW/1H/2024.parquet"


def _reader(aws) -> tuple[S3CandleReader, object]:
    s3 = aws.client("s3")
    return S3CandleReader(s3, aws.env["BUCKET"], aws.env["DATA_PREFIX"]), s3


def _put(aws, s3, body: bytes) -> None:
    s3.put_object(Bucket=aws.env["BUCKET"], Key=aws.env["DATA_PREFIX"] + KEY, Body=body,
                  Metadata={"source": "test"})


def test_given_a_listed_then_read_object_then_both_give_the_same_version(aws):
    reader, s3 = _reader(aws)
    _put(aws, s3, _layout("BTC_KRW", "1h")[KEY])
    assert reader.version(KEY) is None  # neither listed nor read yet
    assert reader.list("BTC_KRW/") == [KEY]
    listed = reader.version(KEY)
    assert listed is not None and listed.startswith(f"s3://{aws.env['BUCKET']}/")
    reader.get(KEY)
    assert reader.version(KEY) == listed


def test_given_a_rewrite_with_other_bytes_then_another_version(aws):
    reader, s3 = _reader(aws)
    body = _layout("BTC_KRW", "1h")[KEY]
    _put(aws, s3, body)
    reader.list("BTC_KRW/")
    first = reader.version(KEY)
    _put(aws, s3, _layout("BTC_KRW", "1d")["BTC_KRW/1D/2024.parquet"])
    reader.list("BTC_KRW/")
    assert reader.version(KEY) != first


def test_given_the_same_etag_and_size_at_another_time_then_another_version(aws):
    # a rewrite of the same bytes (e.g. other metadata) moves LastModified
    reader, _ = _reader(aws)
    reader._remember(KEY, '"abc"', 10, datetime(2026, 1, 1, tzinfo=UTC))
    first = reader.version(KEY)
    reader._remember(KEY, '"abc"', 10, datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC))
    assert reader.version(KEY) != first
    reader._remember(KEY, None, 10, datetime(2026, 1, 1, tzinfo=UTC))
    assert reader.version(KEY) is None


def test_given_a_warm_worker_when_it_loads_the_same_object_twice_then_one_get(aws,
                                                                             monkeypatch):
    reader, s3 = _reader(aws)
    _put(aws, s3, _layout("BTC_KRW", "1h")[KEY])
    gets = []
    original = reader.get
    monkeypatch.setattr(reader, "get", lambda key: gets.append(key) or original(key))
    warm.clear()
    first = load_symbol(reader, "BTC_KRW", "1h", date(2024, 1, 1), date(2024, 1, 31))
    second = load_symbol(reader, "BTC_KRW", "1h", date(2024, 1, 1), date(2024, 1, 31))
    assert gets == [KEY]
    assert first.source == second.source == "test"  # the label of the read, kept
    assert (first.candles.close == second.candles.close).all()
    _put(aws, s3, _layout("BTC_KRW", "1d")["BTC_KRW/1D/2024.parquet"])  # rewritten
    third = load_symbol(reader, "BTC_KRW", "1h", date(2024, 1, 1), date(2024, 1, 31))
    assert gets == [KEY, KEY] and third.identity != first.identity
