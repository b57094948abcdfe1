"""The inventory: a listing joined with the manifest, without opening any Parquet file."""

from __future__ import annotations

from backtest_core.inventory import FileEntry, Manifest, build_inventory, parse_layout_key


def entry(rows: int, first: str, last: str, origin: str = "upbit", size: int = 100) -> FileEntry:
    return FileEntry(rows=rows, first=first, last=last, source=f"{origin} (fetched X)",
                     origin=origin, size=size)


def test_given_layout_keys_in_any_accepted_form_then_they_parse_to_canonical_names() -> None:
    assert parse_layout_key("BTC_KRW/1D/2024.parquet") == ("BTC_KRW", "1d", 2024)
    assert parse_layout_key("KRW-ETH/5M/2018.parquet") == ("ETH_KRW", "5m", 2018)
    assert parse_layout_key("btc_krw/1h/2025.parquet") == ("BTC_KRW", "1h", 2025)
    for other in ("_inventory.json", "BTC_KRW/1D/2024.csv", "BTC_KRW/2M/2024.parquet",
                  "a/b/c/2024.parquet", "BTC/1D/2024.parquet"):
        assert parse_layout_key(other) is None, other


def test_given_two_years_in_the_manifest_then_the_item_sums_rows_and_spans_both() -> None:
    listing = {"BTC_KRW/1H/2023.parquet": 100, "BTC_KRW/1H/2024.parquet": 100,
               "_inventory.json": 10}
    manifest = Manifest(files={
        "BTC_KRW/1H/2023.parquet": entry(288, "2023-12-20T00:00:00Z", "2023-12-31T23:00:00Z"),
        "BTC_KRW/1H/2024.parquet": entry(595, "2024-01-01T00:00:00Z", "2024-01-25T23:00:00Z"),
    })

    (item,) = build_inventory(listing, manifest).items

    assert item.model_dump() == {"symbol": "BTC_KRW", "timeframe": "1h",
                                 "first": "2023-12-20T00:00:00Z",
                                 "last": "2024-01-25T23:00:00Z", "rows": 883, "source": "upbit"}


def test_given_a_file_unknown_to_the_manifest_or_resized_then_stats_are_null_not_wrong() -> None:
    listing = {"BTC_KRW/1D/2024.parquet": 100, "BTC_KRW/1D/2025.parquet": 100,
               "ETH_KRW/1D/2024.parquet": 999}
    manifest = Manifest(files={
        "BTC_KRW/1D/2024.parquet": entry(366, "2024-01-01T00:00:00Z", "2024-12-31T00:00:00Z"),
        "ETH_KRW/1D/2024.parquet": entry(366, "2024-01-01T00:00:00Z", "2024-12-31T00:00:00Z"),
    })

    btc, eth = build_inventory(listing, manifest).items

    assert (btc.symbol, btc.rows, btc.first, btc.last, btc.source) == (
        "BTC_KRW", None, None, None, "upbit")
    assert (eth.symbol, eth.rows, eth.source) == ("ETH_KRW", None, None)


def test_given_canonical_and_alias_directories_then_the_one_the_engine_reads_is_reported() -> None:
    listing = {"KRW-BTC/1D/2024.parquet": 100, "BTC_KRW/1D/2024.parquet": 100}
    manifest = Manifest(files={
        "KRW-BTC/1D/2024.parquet": entry(10, "2024-01-01T00:00:00Z", "2024-01-10T00:00:00Z",
                                         origin="old upbit download"),
        "BTC_KRW/1D/2024.parquet": entry(366, "2024-01-01T00:00:00Z", "2024-12-31T00:00:00Z"),
    })

    (item,) = build_inventory(listing, manifest).items

    assert (item.rows, item.source) == (366, "upbit")


def test_given_many_items_then_they_sort_by_symbol_then_timeframe_length() -> None:
    keys = ["ETH_KRW/1D/2024.parquet", "BTC_KRW/1D/2024.parquet", "BTC_KRW/5M/2024.parquet",
            "BTC_KRW/1H/2024.parquet", "BTC_KRW/1W/2024.parquet"]

    items = build_inventory(dict.fromkeys(keys, 1), Manifest()).items

    assert [(i.symbol, i.timeframe) for i in items] == [
        ("BTC_KRW", "5m"), ("BTC_KRW", "1h"), ("BTC_KRW", "1d"), ("BTC_KRW", "1w"),
        ("ETH_KRW", "1d")]
