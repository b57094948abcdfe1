"""The result document's schema version, declared once for the engine and the core."""

RESULT_VERSION = "1.3.0"
"""Version of the result document schema (docs/api.md, "Result document")."""

SUMMARY_MAX_TRADES = 1000
"""The summary view (docs/api.md, "Result views") keeps this many trades of each trade log."""
