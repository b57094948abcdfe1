"""Versions stamped into every result document."""

from backtest_contract.results import RESULT_VERSION

ENGINE_VERSION = "1.3.0"
"""Version of this engine library (metadata.engine_version)."""

__all__ = ["ENGINE_VERSION", "RESULT_VERSION"]
