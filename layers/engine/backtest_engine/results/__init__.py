"""Trades and equity → metrics and the result document (one builder for every path)."""

from .document import document, root_portfolio, safe_portfolio
from .encode import floats, iso_many, json_safe
from .symbol import buy_and_hold_pct, symbol_result

__all__ = ["buy_and_hold_pct", "document", "floats", "iso_many", "json_safe",
           "root_portfolio", "safe_portfolio", "symbol_result"]
