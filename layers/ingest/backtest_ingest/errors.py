"""Errors of ingestion. Each message is one line a user can act on (the CLI prints it as is)."""

from __future__ import annotations


class IngestError(Exception):
    """Base: the fetch or import stopped; files already written are complete year files."""


class ExchangeUnreachable(IngestError):
    """The exchange did not answer usefully within the retry budget (network, 429, 5xx)."""


class UnknownMarket(IngestError):
    """The exchange lists no market for the symbol."""
