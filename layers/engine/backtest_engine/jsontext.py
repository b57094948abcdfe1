"""JSON text of the result document's long lists, built from their columns.

A full document holds ~10⁵ signal rows, performance-curve points and trade-log rows
(docs/positions.md, "Speed"). As Python dicts they cost more to build, encode and free
than the rest of a run; ``JsonRows`` is the same list already written as JSON, column by
column (numbers by orjson from the numpy arrays, times from one byte buffer), so a caller
that only encodes the document (``backtest run --json``) skips the dicts. Its JSON value
is the dicts' exactly: same keys in the same order, the same numbers, NaN and ±inf as
null. ``encode_document`` writes a document holding ``JsonRows`` (or plain lists).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import orjson

_ISO_TEMPLATE = np.frombuffer(b"0000-00-00T00:00:00Z", dtype=np.uint8)


class JsonRows:
    """``count`` row objects as JSON text (``[{…},…]``): what a list of dicts would encode
    to. ``len()`` is the row count; ``encode_document`` splices the text in."""

    __slots__ = ("count", "fragment")

    def __init__(self, text: str, count: int) -> None:
        self.fragment = orjson.Fragment(text)
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"JsonRows({self.count} rows)"


def _default(value: object) -> object:
    if isinstance(value, JsonRows):
        return value.fragment
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def encode_document(doc: dict, *, newline: bool = False) -> bytes:
    """Compact JSON bytes of a result document (plain types, ``JsonRows``, non-finite
    floats as null — orjson's rule)."""
    option = orjson.OPT_APPEND_NEWLINE if newline else 0
    return orjson.dumps(doc, default=_default, option=option)


def json_rows(fields: Sequence[tuple[str, str | list[str]]], count: int) -> JsonRows | list:
    """``[{key: value, …} × count]`` as JSON text from ``(key, column)`` pairs in key
    order: a column is a list of ``count`` JSON tokens (``json_numbers``, ``json_times``,
    ``json_labels``) or one token shared by every row. ``[]`` (a plain list) when
    ``count`` is 0.

    >>> encode_document({"r": json_rows([("a", '"x"'), ("b", ["1", "null"])], 2)})
    b'{"r":[{"a":"x","b":1},{"a":"x","b":null}]}'
    """
    if count == 0:
        return []
    # the row is literal, column, literal, column, …, literal: shared tokens join the literals
    literals, columns, text = [], [], "{"
    for i, (key, column) in enumerate(fields):
        text += ("," if i else "") + orjson.dumps(key).decode() + ":"
        if isinstance(column, str):
            text += column
        else:
            if len(column) != count:
                raise ValueError(f"column {key!r}: {len(column)} tokens for {count} rows")
            literals.append(text)
            columns.append(column)
            text = ""
    tail = text + "}"
    if not columns:
        return JsonRows("[" + ",".join([tail] * count) + "]", count)
    width = 2 * len(columns)
    parts = [""] * (width * count + 1)
    first = literals[0]
    parts[0:-1:width] = [tail + "," + first] * count
    parts[0] = "[" + first
    for j, column in enumerate(columns):
        if j:
            parts[2 * j:-1:width] = [literals[j]] * count
        parts[2 * j + 1::width] = column
    parts[-1] = tail + "]"
    return JsonRows("".join(parts), count)


def json_numbers(values: np.ndarray) -> list[str]:
    """The JSON token of each number of a 1-d array, as orjson writes the Python values
    of ``values.tolist()`` (floats as float64, so the shortest text that reads back the
    same double); NaN and ±inf → ``null``."""
    if values.shape[0] == 0:
        return []
    kind = values.dtype.kind
    if kind == "f":
        values = np.ascontiguousarray(values, dtype=np.float64)
    elif kind in "iu":  # orjson writes every integer width
        values = np.ascontiguousarray(values)
    else:  # bools, objects: through Python values
        return [orjson.dumps(v).decode() for v in values.tolist()]
    return orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].decode().split(",")


def json_string(text: str) -> str:
    """The JSON string token of ``text``."""
    return orjson.dumps(text).decode()


def json_labels(names: Sequence[str], codes: np.ndarray) -> list[str]:
    """The JSON string token of ``names[code]`` for each code."""
    tokens = np.array([json_string(name) for name in names], dtype=object)
    return tokens[codes].tolist()


def iso_chars(ts_ns: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DDTHH:MM:SSZ`` of int64 UTC nanoseconds as an (n, 20) uint8 array (their
    range, 1677 … 2262, has four-digit years), as ``numpy.datetime_as_string(…,
    timezone="UTC")`` writes them."""
    seconds = np.asarray(ts_ns, dtype=np.int64) // 10**9  # floor: before 1970 too
    days, sec = np.divmod(seconds, 86_400)
    # the civil date of a day number (H. Hinnant, "chrono-compatible date algorithms")
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    out = np.empty((seconds.shape[0], _ISO_TEMPLATE.shape[0]), dtype=np.uint8)
    out[:] = _ISO_TEMPLATE
    for col, value, width in ((0, year, 4), (5, month, 2), (8, day, 2), (11, sec // 3600, 2),
                              (14, sec // 60 % 60, 2), (17, sec % 60, 2)):
        for place in range(width):
            out[:, col + width - 1 - place] += (value // 10**place % 10).astype(np.uint8)
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


def json_times(ts_ns: np.ndarray) -> list[str]:
    """The JSON string token (``"YYYY-MM-DDTHH:MM:SSZ"``) of each epoch-ns time."""
    return lines(iso_chars(ts_ns), quoted=True)
