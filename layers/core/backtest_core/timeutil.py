"""UTC time helpers: every timestamp the service writes is ISO 8601 with ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """``2024-01-01T00:00:00.123Z`` (milliseconds, always UTC)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def epoch_s(dt: datetime) -> int:
    return int(dt.timestamp())
