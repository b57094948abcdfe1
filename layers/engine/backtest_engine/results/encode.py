"""JSON-safe values for the result document: plain Python types, no NaN or infinities."""

from __future__ import annotations

import math
from datetime import date

import numpy as np

from ..sim.metrics import iso_times


def iso_many(ts_ns: np.ndarray) -> list[str]:
    """``YYYY-MM-DDTHH:MM:SSZ`` of each epoch-ns timestamp, vectorised (the simulator's
    ``iso_times``: one format for every time of the document)."""
    return iso_times(ts_ns)


def floats(values: np.ndarray) -> list:
    """Plain floats; a non-finite value becomes None (JSON null)."""
    if np.isfinite(values).all():
        return values.tolist()
    return [v if math.isfinite(v) else None for v in values.tolist()]


def json_safe(value):
    """Plain JSON types: numpy scalars → Python, tuples → lists, non-finite floats → None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value
