"""The one encoder of result documents (docs/api.md, "Result document"): compact JSON by
orjson, non-finite floats as null, and lists already written as JSON (``JsonRows``, which
the engine builds from columns for its long lists, docs/positions.md "Speed") spliced in
unchanged. The CLI, the result store and the synchronous API encode with it."""

from __future__ import annotations

import secrets

import orjson


class JsonRows:
    """``count`` row objects as JSON text (``[{…},…]``, in ``chunks`` end to end): what a
    list of dicts would encode to. ``len()`` is the row count; ``encode_chunks`` and
    ``encode_document`` splice the text in."""

    __slots__ = ("chunks", "count")

    def __init__(self, chunks: tuple[bytes, ...], count: int) -> None:
        self.chunks = chunks
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"JsonRows({self.count} rows)"


def encode_chunks(doc: dict, *, newline: bool = False) -> list[bytes]:
    """Compact JSON of a result document (plain types and ``JsonRows``; non-finite floats
    as null, orjson's rule) as byte strings to write one after the other: the rows' text
    is not copied into one 70 MB buffer."""
    found: list[JsonRows] = []
    marker = secrets.token_hex(16)  # what no value of the document holds

    def default(value: object) -> object:
        if isinstance(value, JsonRows):
            found.append(value)  # orjson calls this in output order
            return marker
        raise TypeError(f"not JSON serializable: {type(value).__name__}")

    option = orjson.OPT_APPEND_NEWLINE if newline else 0
    encoded = orjson.dumps(doc, default=default, option=option)
    if not found:  # a plain document: nothing to splice
        return [encoded]
    parts = encoded.split(f'"{marker}"'.encode())
    if len(parts) != len(found) + 1:
        raise ValueError("a JsonRows marker was not found once in the encoded document")
    chunks = [parts[0]]
    for rows, after in zip(found, parts[1:], strict=True):
        chunks += rows.chunks
        chunks.append(after)
    return chunks


def encode_document(doc: dict, *, newline: bool = False) -> bytes:
    """``encode_chunks`` as one bytes: what ``orjson.dumps`` writes for the document with
    each ``JsonRows`` as the list of dicts it stands for."""
    return b"".join(encode_chunks(doc, newline=newline))
