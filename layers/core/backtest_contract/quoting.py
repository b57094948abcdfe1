"""Quoting user input in error messages, bounded (docs/operations.md: a 422 body quotes at most 200
characters of the offending input; a 10 MB symbol must not become a 10 MB error body)."""

from __future__ import annotations

from typing import Any

QUOTE_LIMIT = 200  # characters of user input quoted in an error message


def quote(value: Any) -> str:
    """``repr`` of user input, cut to ``QUOTE_LIMIT`` characters (a 10 MB symbol must not
    become a 10 MB error body).

    >>> quote("x" * 500)[:6], len(quote("x" * 500)) < 260
    ("'xxxxx", True)
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= QUOTE_LIMIT:
        return repr(text)
    return f"{text[:QUOTE_LIMIT]!r}... ({len(text)} characters)"


def quote_text(text: str) -> str:
    """``text`` cut to ``QUOTE_LIMIT`` characters, without quotes."""
    return text if len(text) <= QUOTE_LIMIT else f"{text[:QUOTE_LIMIT]}... ({len(text)} characters)"
