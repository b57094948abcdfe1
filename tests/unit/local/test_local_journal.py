"""The write journal's group commit: every appended line is on disk once ``sync`` returns,
in the order the lines were appended, a torn last line skipped (infra/local/journal.py)."""

from __future__ import annotations

import threading
from pathlib import Path

from infra.local.journal import Journal, records


def test_given_concurrent_writers_when_each_syncs_then_every_line_is_read_back_in_append_order(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "j" / "1.log")
    order: list[str] = []

    def writer(n: int) -> None:
        for i in range(25):
            with journal.lock:
                path = f"/t/{n}/{i}"
                end = journal.append("PUT", path, {"Content-Type": "x", "Other": "dropped"},
                                     b"body")
                order.append(path)
            journal.sync(end)
            assert journal._synced >= end

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    read = list(records(tmp_path / "j" / "1.log"))
    assert [r["p"] for r in read] == order and len(order) == 100
    assert read[0]["h"] == {"Content-Type": "x"}


def test_given_a_torn_last_line_when_read_then_it_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "1.log"
    journal = Journal(path)
    with journal.lock:
        journal.sync(journal.append("DELETE", "/b/k", {}, b""))
    with open(path, "ab") as f:
        f.write(b'{"m":"PUT","p":"/b/torn"')
    assert [r["p"] for r in records(path)] == ["/b/k"]
