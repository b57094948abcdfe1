"""The local data store writes atomically: a failed write leaves neither half a file nor
a temporary one, and the old file stays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backtest_core.datastore import LocalDataStore, inventory


def test_given_a_write_that_fails_at_the_rename_then_the_old_file_stays_and_no_temp_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = LocalDataStore(tmp_path)
    store.put("BTC_KRW/1D/2024.parquet", b"old", "test")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.put("BTC_KRW/1D/2024.parquet", b"new", "test")

    assert store.get("BTC_KRW/1D/2024.parquet") == b"old"
    assert sorted(p.name for p in (tmp_path / "BTC_KRW" / "1D").iterdir()) == ["2024.parquet"]


def test_given_keys_that_escape_the_root_then_they_are_refused(tmp_path: Path) -> None:
    store = LocalDataStore(tmp_path / "root")

    for key in ("../x.parquet", "a/../../x", ""):
        with pytest.raises(ValueError, match="invalid key"):
            store.put(key, b"x", "test")


def test_given_a_corrupt_manifest_then_the_inventory_lists_files_without_stats(
    tmp_path: Path,
) -> None:
    store = LocalDataStore(tmp_path)
    store.put("BTC_KRW/1D/2024.parquet", b"x", "test")
    store.put("_inventory.json", b"{not json", "test")

    (item,) = inventory(store).items

    assert (item.symbol, item.timeframe, item.rows, item.source) == ("BTC_KRW", "1d", None, None)
