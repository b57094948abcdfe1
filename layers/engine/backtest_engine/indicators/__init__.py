"""TA-Lib-conventional indicators for rule documents, and the per-symbol cache that
computes each distinct (indicator, args, source) once (docs/rules.md)."""

from .cache import IndicatorCache
from .functions import FUNCTIONS, compute

__all__ = ["FUNCTIONS", "IndicatorCache", "compute"]
