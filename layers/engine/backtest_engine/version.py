"""Versions stamped into every result document."""

ENGINE_VERSION = "1.2.0"
"""Version of this engine library (metadata.engine_version)."""

RESULT_VERSION = "1.2.0"
"""Version of the result document schema (SPEC section 7)."""
