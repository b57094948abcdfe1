"""Versions stamped into every result document."""

ENGINE_VERSION = "1.2.0"
"""Version of this engine library (metadata.engine_version)."""

from backtest_contract.results import RESULT_VERSION

__all__ = ["ENGINE_VERSION", "RESULT_VERSION"]
