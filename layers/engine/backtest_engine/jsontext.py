"""JSON text of the result document's long lists, built from their columns.

A full document holds ~10⁵ signal rows, performance-curve points and trade-log rows
(docs/positions.md, "Speed"). As Python dicts they cost more to build, encode and free
than the rest of a run; ``JsonRows`` is the same list already written as JSON, column by
column (numbers by orjson from the numpy arrays, times from one byte buffer), so a caller
that only encodes the document (``backtest run --json``) skips the dicts. Its JSON value
is the dicts' exactly: same keys in the same order, the same numbers, NaN and ±inf as
null. ``encode_document`` / ``encode_chunks`` (``backtest_contract.encoding``, the one
encoder of result documents: the CLI and the service's result store) write a document
holding ``JsonRows`` or plain lists.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import orjson

from backtest_contract.encoding import JsonRows, encode_chunks, encode_document

__all__ = ["Dates", "JsonRows", "Labels", "Times", "encode_chunks", "encode_document",
           "iso_chars", "json_rows", "json_string", "lines"]


class Times(NamedTuple):
    """A column of ``"YYYY-MM-DDTHH:MM:SSZ"`` strings from ``iso_chars``."""

    chars: np.ndarray


class Dates(NamedTuple):
    """A column of ``"YYYY-MM-DD"`` strings: the first ten characters of ``iso_chars``."""

    chars: np.ndarray


class Labels(NamedTuple):
    """A column of strings ``names[code]``."""

    names: Sequence[str]
    codes: np.ndarray


Column = str | np.ndarray | Times | Dates | Labels


def json_rows(fields: Sequence[tuple[str, Column]], count: int) -> JsonRows | list:
    """``[{key: value, …} × count]`` as JSON text from ``(key, column)`` pairs in key
    order; ``[]`` (a plain list) when ``count`` is 0. A column is one JSON token shared by
    every row (``str``), a numeric array (floats as orjson writes the Python floats of
    ``tolist()``: the shortest text that reads back the same double, NaN and ±inf null;
    integers and booleans as JSON integers and booleans), ``Times``, ``Dates`` or
    ``Labels``.

    How (no object per value): the float columns are written by one ``orjson.dumps`` of
    the row-major block and every comma between two of its numbers becomes ``%s``; the
    text between consecutive floats of a row (keys, times, labels, integers, the ``},{``
    between rows) is one argument of a single ``bytes % tuple``: shared when constant,
    else one bytes object per row, built in a byte matrix (times) or per distinct value
    (labels, integers).

    >>> encode_document({"r": json_rows([("a", '"x"'), ("b", np.array([1.5, np.nan]))], 2)})
    b'{"r":[{"a":"x","b":1.5},{"a":"x","b":null}]}'
    """
    if count == 0:
        return []
    segments: list[list[_Piece]] = [[(_LIT, b"{")]]  # pieces between float columns
    floats: list[np.ndarray] = []
    for i, (key, column) in enumerate(fields):
        segments[-1].append((_LIT, (b"," if i else b"") + orjson.dumps(key) + b":"))
        _check_rows(key, column, count)
        if isinstance(column, np.ndarray) and column.dtype.kind == "f":
            floats.append(column)
            segments.append([])
        else:
            segments[-1].extend(_pieces(column))
    segments[-1].append((_LIT, b"}"))
    if not floats:  # one piece of glue per row
        rows = _glue(segments[0], 0, count)
        rows = [rows] * count if isinstance(rows, bytes) else rows
        return JsonRows((b"[" + b",".join(rows) + b"]",), count)
    width = len(floats)
    block = np.empty((count, width), dtype=np.float64)
    for j, column in enumerate(floats):
        block[:, j] = column
    numbers = orjson.dumps(block.reshape(-1), option=orjson.OPT_SERIALIZE_NUMPY)
    template = numbers[1:-1].replace(b",", b"%s")  # numbers and null: no % to escape
    args: list = [b""] * (count * width - 1)
    for j in range(1, width):  # between float j−1 and float j of every row
        glue = _glue(segments[j], 0, count)
        args[j - 1::width] = [glue] * count if isinstance(glue, bytes) else glue
    if count > 1:  # the end of row r, a comma, the start of row r + 1
        between = _glue([*_shifted(segments[-1], 0), (_LIT, b","),
                         *_shifted(segments[0], 1)], 0, count - 1)
        args[width - 1::width] = [between] * (count - 1) if isinstance(between, bytes) \
            else between
    head = _glue(segments[0], 0, 1)
    tail = _glue(segments[-1], count - 1, count)
    head = head if isinstance(head, bytes) else head[0]
    tail = tail if isinstance(tail, bytes) else tail[0]
    return JsonRows((b"[" + head, template % tuple(args), tail + b"]"), count)


# A piece of the text between float columns: a literal, a fixed-width byte matrix (one
# row per document row) or a coded value (codes, the JSON token of each distinct code).
_LIT, _FIXED, _CODED = 0, 1, 2
_Piece = tuple


def _check_rows(key: str, column: Column, count: int) -> None:
    size = (None if isinstance(column, str) else column.codes.shape[0]
            if isinstance(column, Labels) else column.chars.shape[0]
            if isinstance(column, Times | Dates) else column.shape[0])
    if size is not None and size != count:
        raise ValueError(f"column {key!r}: {size} values for {count} rows")


def _pieces(column: Column) -> list[_Piece]:
    if isinstance(column, str):
        return [(_LIT, column.encode())]
    if isinstance(column, Times):
        return [(_LIT, b'"'), (_FIXED, column.chars), (_LIT, b'"')]
    if isinstance(column, Dates):
        return [(_LIT, b'"'), (_FIXED, column.chars[:, :10]), (_LIT, b'"')]
    if isinstance(column, Labels):
        tokens = [orjson.dumps(name) for name in column.names]
        return [(_CODED, np.asarray(column.codes, dtype=np.int64), tokens.__getitem__)]
    if column.dtype.kind == "b":
        return [(_CODED, column.astype(np.int64), lambda v: b"true" if v else b"false")]
    if column.dtype.kind in "iu":
        return [(_CODED, column, lambda v: str(int(v)).encode())]
    raise TypeError(f"no JSON column of dtype {column.dtype}")


def _shifted(pieces: list[_Piece], skip: int) -> list[_Piece]:
    """The pieces of rows ``skip`` … (the arrays sliced)."""
    if not skip:
        return pieces
    return [p if p[0] == _LIT else (p[0], p[1][skip:], *p[2:]) for p in pieces]


def _glue(pieces: list[_Piece], lo: int, hi: int) -> bytes | list[bytes]:
    """The text of ``pieces`` for rows lo … hi−1: one bytes when it is constant, else one
    per row. Runs of literals and matrices are cut from one byte buffer; runs of literals
    and coded values are looked up per distinct combination of codes."""
    runs: list[list[_Piece]] = []
    for piece in pieces:
        kinds = {p[0] for p in runs[-1]} - {_LIT} if runs else set()
        if not runs or piece[0] == _LIT or not kinds or piece[0] in kinds:
            if not runs:
                runs.append([])
            runs[-1].append(piece)
        else:
            runs.append([piece])
    out: bytes | list[bytes] = b""
    for run in runs:
        text = _run_text(run, lo, hi)
        if isinstance(out, bytes) and isinstance(text, bytes):
            out += text
        elif isinstance(out, bytes):
            out = [out + t for t in text] if out else text
        elif isinstance(text, bytes):
            out = [t + text for t in out]
        else:
            out = list(map(operator.add, out, text))
    return out


def _run_text(run: list[_Piece], lo: int, hi: int) -> bytes | list[bytes]:
    kinds = {p[0] for p in run}
    if kinds == {_LIT}:
        return b"".join(p[1] for p in run)
    rows = hi - lo
    if _FIXED in kinds:
        widths = [len(p[1]) if p[0] == _LIT else p[1].shape[1] for p in run]
        matrix = np.empty((rows, sum(widths) + 1), dtype=np.uint8)
        at = 0
        for piece, width in zip(run, widths, strict=True):
            matrix[:, at: at + width] = (np.frombuffer(piece[1], dtype=np.uint8)
                                         if piece[0] == _LIT else piece[1][lo:hi])
            at += width
        matrix[:, -1] = ord("\n")  # JSON text outside strings has no raw newline
        return matrix.tobytes().split(b"\n")[:-1]
    keys = np.stack([p[1][lo:hi].astype(np.int64) for p in run if p[0] == _CODED], axis=1)
    first, inverse = _distinct_rows(keys)
    texts = np.empty(first.shape[0], dtype=object)
    for u, row in enumerate(first):
        values = iter(keys[row].tolist())
        texts[u] = b"".join(p[1] if p[0] == _LIT else p[2](next(values)) for p in run)
    return texts[inverse].tolist()


def _distinct_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the index of a row holding each distinct row of an (n, k) int64 array, the number
    of each row's distinct row). Codes in a small range (labels, bars held) are
    numbered through a table, without sorting."""
    low = keys.min(axis=0)
    spans = (keys.max(axis=0) - low + 1).tolist()
    if math.prod(spans) <= max(4 * keys.shape[0], 1 << 16):
        code = np.zeros(keys.shape[0], dtype=np.int64)
        for col, span in enumerate(spans):
            code = code * span + (keys[:, col] - low[col])
        number = np.full(math.prod(spans), -1, dtype=np.int64)
        present = np.flatnonzero(np.bincount(code, minlength=number.shape[0]))
        number[present] = np.arange(present.shape[0])
        inverse = number[code]
        first = np.empty(present.shape[0], dtype=np.int64)
        first[inverse] = np.arange(keys.shape[0])  # any row of each: they are equal
        return first, inverse
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def json_string(text: str) -> str:
    """The JSON string token of ``text``."""
    return orjson.dumps(text).decode()


def iso_chars(ts_ns: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DDTHH:MM:SSZ`` of int64 UTC nanoseconds as an (n, 20) uint8 array (their
    range, 1677 … 2262, has four-digit years), as ``numpy.datetime_as_string(…,
    timezone="UTC")`` writes them. The characters are gathered from tables: the dates of
    the days the times span (or of each time's day when they span more days than there are
    times) and the 86,400 times of day."""
    seconds = np.asarray(ts_ns, dtype=np.int64) // 10**9  # floor: before 1970 too
    days, sec = np.divmod(seconds, 86_400)
    out = np.empty((seconds.shape[0], 20), dtype=np.uint8)
    if not seconds.shape[0]:
        return out
    first, last = int(days.min()), int(days.max())
    if last - first < seconds.shape[0]:
        out[:, :10] = _date_chars(np.arange(first, last + 1))[days - first]
    else:
        out[:, :10] = _date_chars(days)
    out[:, 10:] = _times_of_day()[sec]
    return out


_TWO_DIGITS = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], dtype=np.uint8)


def _date_chars(days: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` of day numbers (days since 1970-01-01) as an (n, 10) uint8 array:
    the civil date of H. Hinnant's "chrono-compatible low-level date algorithms"."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    out = np.empty((days.shape[0], 10), dtype=np.uint8)
    out[:, 0:2] = _TWO_DIGITS[year // 100]
    out[:, 2:4] = _TWO_DIGITS[year % 100]
    out[:, 5:7] = _TWO_DIGITS[month]
    out[:, 8:10] = _TWO_DIGITS[day]
    out[:, 4] = out[:, 7] = ord("-")
    return out


@functools.cache
def _times_of_day() -> np.ndarray:
    """``THH:MM:SSZ`` of each second of a day: an (86400, 10) uint8 array."""
    sec = np.arange(86_400)
    out = np.empty((86_400, 10), dtype=np.uint8)
    out[:, 1:3] = _TWO_DIGITS[sec // 3600]
    out[:, 4:6] = _TWO_DIGITS[sec // 60 % 60]
    out[:, 7:9] = _TWO_DIGITS[sec % 60]
    out[:, 0], out[:, 3], out[:, 6], out[:, 9] = ord("T"), ord(":"), ord(":"), ord("Z")
    out.setflags(write=False)
    return out


def lines(chars: np.ndarray, *, quoted: bool = False) -> list[str]:
    """Each row of an (n, w) ASCII uint8 array as a str (in double quotes: a JSON string
    token, the characters needing no escape). The rows go into one buffer that is split:
    twice as fast as decoding rows one by one on a document's ~10⁵."""
    n, width = chars.shape
    if not n:
        return []
    lead = 1 if quoted else 0
    out = np.empty((n, width + 2 * lead + 1), dtype=np.uint8)
    out[:, lead: lead + width] = chars
    if quoted:
        out[:, 0] = out[:, width + 1] = ord('"')
    out[:, -1] = ord("\n")
    return out.tobytes().decode("ascii").split("\n")[:-1]


