"""Half-open time intervals ``[start_ms, end_ms)``: what was fetched, what is still missing.

A year file records the ranges that were requested from the exchange (``coverage_ms`` in
its Parquet metadata), whether or not candles exist there, so a re-run asks the exchange
only for the rest, and a gap the exchange does not have is not asked for again.

    >>> subtract((0, 10), [(2, 4), (6, 8)])
    [(0, 2), (4, 6), (8, 10)]
    >>> union([(0, 2), (2, 5), (7, 9)])
    [(0, 5), (7, 9)]
"""

from __future__ import annotations

Interval = tuple[int, int]


def union(intervals: list[Interval]) -> list[Interval]:
    """Sorted, merged, non-empty intervals (touching ones are merged)."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def subtract(want: Interval, have: list[Interval]) -> list[Interval]:
    """The parts of ``want`` not covered by ``have``."""
    missing: list[Interval] = []
    cursor, end = want
    for start, stop in union(have):
        if stop <= cursor or start >= end:
            continue
        if start > cursor:
            missing.append((cursor, start))
        cursor = max(cursor, stop)
    if cursor < end:
        missing.append((cursor, end))
    return missing
