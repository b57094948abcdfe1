"""Where candle files come from: the reader interface and two local implementations."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class CandleReader(Protocol):
    """Key/value access to a data root. Keys are ``/``-separated and relative to the root,
    e.g. ``BTC_KRW/1D/2024.parquet``. Optionally ``describe(key) -> str`` names the data's
    source (shown as ``data.source`` in results), and ``version(key) -> str | None`` names
    the object's current content (it must change whenever the bytes do; S3: URI, ETag and
    size): files with a version are parsed once per warm process (``warm``)."""

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key."""
        ...

    def list(self, prefix: str) -> list[str]:
        """All keys that start with ``prefix`` (recursively), sorted."""
        ...


class LocalDirReader:
    """CandleReader over a local directory.

    ``source`` (e.g. ``"synthetic"``) is what ``describe`` reports for every key; without
    it ``describe`` returns the key itself.
    """

    def __init__(self, path: str | Path, source: str | None = None):
        self.root = Path(path)
        self.source = source

    def get(self, key: str) -> bytes | None:
        """Bytes of ``root/key``, or None when the file does not exist."""
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def list(self, prefix: str) -> list[str]:
        """Keys of all files under ``root`` whose key starts with ``prefix``."""
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self._path(folder) if folder else self.root
        if not base.is_dir():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix))

    def describe(self, key: str) -> str:
        """The configured source label, else the key."""
        return self.source if self.source is not None else key

    def _path(self, key: str) -> Path:
        parts = [p for p in key.split("/") if p]
        if any(p == ".." for p in parts):
            raise ValueError(f"invalid key {key!r}")
        return self.root.joinpath(*parts)


class MemoryReader:
    """CandleReader over a dict of key → bytes (e.g. the output of ``to_parquet_layout``)."""

    def __init__(self, objects: dict[str, bytes], source: str | None = None):
        self.objects = dict(objects)
        self.source = source

    def get(self, key: str) -> bytes | None:
        """The stored bytes or None."""
        return self.objects.get(key)

    def list(self, prefix: str) -> list[str]:
        """Stored keys starting with ``prefix``, sorted."""
        return sorted(k for k in self.objects if k.startswith(prefix))

    def describe(self, key: str) -> str:
        """The configured source label, else the key."""
        return self.source if self.source is not None else key
