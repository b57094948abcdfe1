"""Bounded quoting of user input in error messages: ``backtest_contract.quoting``, where the
shared vocabulary's own errors use it too."""

from backtest_contract.quoting import QUOTE_LIMIT, quote, quote_text

__all__ = ["QUOTE_LIMIT", "quote", "quote_text"]
