"""The result document's schema version, declared once for the engine and the core."""

RESULT_VERSION = "1.3.0"
"""Version of the result document schema (docs/api.md, "Result document")."""
