"""The API's strategy catalog is the engine's, and params are validated the engine's way."""

from __future__ import annotations

import pytest

from backtest_contract.registry import builtin
from backtest_core.catalog import load_catalog, validate_params
from backtest_core.errors import ValidationFailed


def test_given_the_engine_registry_then_the_api_catalog_lists_the_same_strategies():
    from backtest_engine.strategies import catalog

    assert [dict(e) for e in load_catalog()] == catalog()


@pytest.mark.parametrize(
    "params",
    [{"volume_window": "10"}, {"top_percentile": 1}, {"include_wicks": False},
     {"volume_window": 0}, {"top_percentile": 0}, {"num_bins": 201}, {"colour": "red"},
     {"hold_period_bars": 2.5}],
)
def test_given_params_then_core_and_engine_agree_on_accept_or_reject(params):
    from backtest_engine import ParamsError
    from backtest_engine.strategies import get, parse_params

    try:
        engine_ok = parse_params(get("volume_zone_breakout"), params) is not None
    except ParamsError:
        engine_ok = False
    try:
        core_ok = validate_params(builtin("volume_zone_breakout"), params) is not None
    except ValidationFailed:
        core_ok = False
    assert core_ok == engine_ok
