"""What the simulator reads: one symbol's bars, masks and ATR series, and the rules
derived from a ``PositionSpec`` (docs/positions.md)."""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import talib

from backtest_contract.position import PositionSpec

REASONS = ("stop_loss", "take_profit", "trailing_stop", "time", "signal", "end_of_data")
"""Exit reasons; a trade's ``reason`` code indexes this tuple."""
STOP_LOSS, TAKE_PROFIT, TRAILING_STOP, TIME, SIGNAL, END_OF_DATA = range(6)


@dataclass(frozen=True)
class SymbolBars:
    """One symbol's bars and what the strategy says about them, all of length n.

    ``ts_ns``: int64 bar open times (ns, UTC, strictly increasing); ``open high low close``:
    float64; ``entry``: bool mask (enter at this bar); ``exit``: bool mask or None;
    ``priority``: float64 entry priority per bar or None (NaN = no priority);
    ``atr``: ATR series by length, one for every length the config's levels use
    (``compute_atrs`` builds them). Masks and indicators cover the whole series even when
    a simulation trades a sub-range of it.
    """

    symbol: str
    ts_ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    entry: np.ndarray
    exit: np.ndarray | None = None
    priority: np.ndarray | None = None
    atr: Mapping[int, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.ts_ns.shape[0]
        arrays = [self.open, self.high, self.low, self.close, self.entry]
        arrays += [a for a in (self.exit, self.priority) if a is not None]
        if any(a.shape != (n,) for a in [*arrays, *self.atr.values()]):
            raise ValueError(f"{self.symbol}: every series must have the {n} bars of ts_ns")

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])


def atr_lengths(config: PositionSpec) -> set[int]:
    """The ATR lengths the config's stop and take-profit levels read."""
    levels = (config.stop_loss, config.take_profit)
    return {lv.length for lv in levels if lv is not None and lv.atr is not None}


def compute_atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, length: int) -> np.ndarray:
    """TA-Lib ``ATR(high, low, close, timeperiod=length)``: NaN for the first ``length`` bars."""
    return talib.ATR(np.ascontiguousarray(high, dtype=np.float64),
                     np.ascontiguousarray(low, dtype=np.float64),
                     np.ascontiguousarray(close, dtype=np.float64), timeperiod=length)


def compute_atrs(high: np.ndarray, low: np.ndarray, close: np.ndarray,
                 config: PositionSpec) -> dict[int, np.ndarray]:
    """``{length: ATR series}`` for every length in ``atr_lengths(config)``."""
    return {n: compute_atr(high, low, close, n) for n in sorted(atr_lengths(config))}


@dataclass(frozen=True)
class Rules:
    """A ``PositionSpec`` flattened to plain numbers for the hot paths.

    Absent levels are NaN (``stop_pct`` …); ``time_bars`` 0 = no time exit.
    """

    next_open: bool
    stop_pct: float
    stop_atr: float
    stop_len: int
    tp_pct: float
    tp_atr: float
    tp_len: int
    tp_rr: float
    trail_pct: float
    trail_activation_pct: float
    time_bars: int
    sizing: str
    sizing_value: float
    max_open: int
    initial_capital: float

    @property
    def has_levels(self) -> bool:
        """Whether any price level (stop, take profit, trail) can end a position."""
        return not all(math.isnan(v) for v in (self.stop_pct, self.stop_atr, self.tp_pct,
                                               self.tp_atr, self.tp_rr, self.trail_pct))

    @property
    def has_trail(self) -> bool:
        return not math.isnan(self.trail_pct)


def rules_of(config: PositionSpec) -> Rules:
    """The ``Rules`` of a validated ``PositionSpec``."""
    nan = math.nan
    sl, tp, tr = config.stop_loss, config.take_profit, config.trailing_stop
    return Rules(
        next_open=config.execution == "next_open",
        stop_pct=sl.pct if sl is not None and sl.pct is not None else nan,
        stop_atr=sl.atr if sl is not None and sl.atr is not None else nan,
        stop_len=sl.length if sl is not None and sl.length is not None else 0,
        tp_pct=tp.pct if tp is not None and tp.pct is not None else nan,
        tp_atr=tp.atr if tp is not None and tp.atr is not None else nan,
        tp_len=tp.length if tp is not None and tp.length is not None else 0,
        tp_rr=tp.rr if tp is not None and tp.rr is not None else nan,
        trail_pct=tr.pct if tr is not None else nan,
        trail_activation_pct=tr.activation_pct if tr is not None else 0.0,
        time_bars=config.time_exit_bars or 0,
        sizing=config.sizing.mode,
        sizing_value=config.sizing.value if config.sizing.value is not None else nan,
        max_open=config.max_open_positions,
        initial_capital=config.initial_capital,
    )


def pack_bars(bars: SymbolBars) -> str:
    """``bars`` as one ASCII string (base64 of a compressed ``.npz``): what a fan-out shard
    stores so that the aggregation can simulate the shared portfolio without the
    strategy (``unpack_bars`` reverses it exactly)."""
    arrays = {"ts_ns": bars.ts_ns, "open": bars.open, "high": bars.high, "low": bars.low,
              "close": bars.close, "entry": bars.entry}
    if bars.exit is not None:
        arrays["exit"] = bars.exit
    if bars.priority is not None:
        arrays["priority"] = bars.priority
    arrays |= {f"atr_{n}": series for n, series in bars.atr.items()}
    out = io.BytesIO()
    np.savez_compressed(out, **arrays)
    return json.dumps([bars.symbol, base64.b64encode(out.getvalue()).decode("ascii")])


def unpack_bars(packed: str) -> SymbolBars:
    symbol, blob = json.loads(packed)
    with np.load(io.BytesIO(base64.b64decode(blob))) as z:
        arrays = {k: z[k] for k in z.files}
    atr = {int(k[4:]): arrays.pop(k) for k in list(arrays) if k.startswith("atr_")}
    return SymbolBars(symbol, arrays.pop("ts_ns"), arrays.pop("open"), arrays.pop("high"),
                      arrays.pop("low"), arrays.pop("close"), arrays.pop("entry"),
                      exit=arrays.pop("exit", None), priority=arrays.pop("priority", None),
                      atr=atr)
