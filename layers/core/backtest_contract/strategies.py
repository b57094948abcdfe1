"""The strategies' names, descriptions and parameter models (docs/engine.md).

The engine implements each name (``backtest_engine/strategies/<name>.py``); the API lists
and validates them from here. One coercion rule for every field (README, "Input values"):
numbers accept JSON numbers and numeric strings (``"20"`` → 20, echoed as a number), never
a boolean; booleans accept only JSON ``true``/``false``. Unknown keys are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict


def _not_bool(value: Any) -> Any:
    """JSON ``true`` is not the number 1 (pydantic's lax mode would take it)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    return value


Int = Annotated[int, BeforeValidator(_not_bool)]
"""An integer parameter: numeric strings such as ``"10"`` are coerced, booleans are not."""
Float = Annotated[float, BeforeValidator(_not_bool)]
Bool = Annotated[bool, Strict()]
"""A boolean parameter: JSON ``true``/``false`` only (not ``"yes"``, ``"true"`` or 1)."""


class StrategyParams(BaseModel):
    """Base of every parameter model: unknown keys are rejected, numeric strings coerced."""

    model_config = ConfigDict(extra="forbid")

    hold_period_bars: Int = Field(
        1, ge=1, le=1000, description="H: bars between entry and exit (exit at close[i+H])"
    )


class VolumeZoneBreakoutParams(StrategyParams):
    """Parameters of volume_zone_breakout (docs/engine.md#strategies)."""

    volume_window: Int = Field(10, ge=1, le=1000, description="W: bars in the profile window")
    top_percentile: Float = Field(
        0.2, gt=0, le=1, description="p: share of window volume at/above the resistance"
    )
    breakout_buffer: Float = Field(0.0, ge=0, le=1, description="b: signal iff high ≥ R·(1+b)")
    num_bins: Int = Field(20, ge=1, le=200, description="K: equal-width price bins")
    include_wicks: Bool = Field(True, description="spans are [low, high] (else the body)")


class VolumeLongCandleParams(StrategyParams):
    """Parameters of volume_long_candle (docs/engine.md#strategies)."""

    vol_ma_window: Int = Field(20, ge=1, le=1000, description="M: volume moving-average bars")
    vol_multiplier: Float = Field(1.5, gt=0, le=100, description="k: volume ≥ k·MA")
    body_pct: Float = Field(0.02, gt=0, le=1, description="β: (close − open)/open ≥ β")


@dataclass(frozen=True)
class StrategyContract:
    """What the API knows of a strategy: its name, description and parameter model."""

    name: str
    description: str
    params_model: type[StrategyParams]

    def catalog_entry(self) -> dict[str, Any]:
        """``{name, description, params_schema, defaults}`` (GET /api/strategies)."""
        return {"name": self.name, "description": self.description,
                "params_schema": self.params_model.model_json_schema(),
                "defaults": self.params_model().model_dump(mode="json")}


VOLUME_ZONE_BREAKOUT = StrategyContract(
    name="volume_zone_breakout",
    description=(
        "Per-window volume profile: BUY when the bar's high reaches the price above which "
        "the top share of the previous W bars' volume traded (times 1 + buffer)."
    ),
    params_model=VolumeZoneBreakoutParams,
)
VOLUME_LONG_CANDLE = StrategyContract(
    name="volume_long_candle",
    description=(
        "BUY a bullish candle whose body is at least body_pct of the open, with short "
        "wicks, on volume at least vol_multiplier times its moving average."
    ),
    params_model=VolumeLongCandleParams,
)
STRATEGIES: dict[str, StrategyContract] = {
    s.name: s for s in sorted((VOLUME_ZONE_BREAKOUT, VOLUME_LONG_CANDLE), key=lambda s: s.name)
}
"""Every strategy by name, sorted by name."""
