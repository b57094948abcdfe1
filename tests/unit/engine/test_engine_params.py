"""Strategy registry, parameter models and request validation."""

from datetime import date

import pytest
from engine_helpers import EXAMPLE_A, run_rows

from backtest_engine import ParamsError, catalog
from backtest_engine.strategies import get, parse_params


def test_given_numeric_strings_when_parsing_then_values_are_coerced():
    params = parse_params(get("volume_zone_breakout"),
                          {"volume_window": "10", "top_percentile": "0.3", "include_wicks": False})
    assert (params.volume_window, params.top_percentile, params.include_wicks) == (10, 0.3, False)


@pytest.mark.parametrize(
    ("strategy", "params", "field"),
    [
        ("volume_zone_breakout", {"volume_window": 0}, "volume_window"),
        ("volume_zone_breakout", {"volume_window": 1001}, "volume_window"),
        ("volume_zone_breakout", {"top_percentile": 0}, "top_percentile"),
        ("volume_zone_breakout", {"top_percentile": 1.5}, "top_percentile"),
        ("volume_zone_breakout", {"breakout_buffer": -0.1}, "breakout_buffer"),
        ("volume_zone_breakout", {"num_bins": 201}, "num_bins"),
        ("volume_zone_breakout", {"hold_period_bars": "abc"}, "hold_period_bars"),
        ("volume_long_candle", {"vol_multiplier": 0}, "vol_multiplier"),
        ("volume_long_candle", {"body_pct": 1.01}, "body_pct"),
        ("volume_long_candle", {"vol_ma_window": 2.5}, "vol_ma_window"),
    ],
)
def test_given_out_of_bounds_value_when_parsing_then_error_names_the_field(strategy, params,
                                                                            field):
    with pytest.raises(ParamsError) as info:
        parse_params(get(strategy), params)
    assert info.value.errors[0]["loc"] == ["params", field]
    assert set(info.value.errors[0]) == {"loc", "msg", "type"}


def test_given_unknown_key_when_parsing_then_extra_forbidden_error():
    with pytest.raises(ParamsError) as info:
        parse_params(get("volume_long_candle"), {"volume_window": 3})
    assert info.value.errors == [{"loc": ["params", "volume_window"], "type": "extra_forbidden",
                                  "msg": "Extra inputs are not permitted"}]


def test_given_unknown_strategy_when_running_then_params_error_at_strategy():
    with pytest.raises(ParamsError) as info:
        run_rows("no_such_strategy", {}, EXAMPLE_A)
    assert info.value.errors[0]["loc"] == ["strategy"]
    assert "no_such_strategy" in info.value.errors[0]["msg"]


def test_given_start_after_end_when_running_then_spec_message():
    with pytest.raises(ParamsError) as info:
        run_rows("volume_zone_breakout", {}, EXAMPLE_A, start_date=date(2024, 2, 1),
                 end_date=date(2024, 1, 1))
    assert info.value.errors[0]["msg"] == "start_date must be before or equal to end_date"


@pytest.mark.parametrize("spec", [{"fee_bps": -1}, {"slippage_bps": 10_000},
                                  {"timeframe": "2h"}])
def test_given_bad_request_field_when_running_then_params_error(spec):
    with pytest.raises(ParamsError):
        run_rows("volume_zone_breakout", {}, EXAMPLE_A, **spec)


def test_given_registry_when_listing_catalog_then_both_strategies_with_spec_defaults():
    entries = {e["name"]: e for e in catalog()}
    assert list(entries) == ["volume_long_candle", "volume_zone_breakout"]
    assert entries["volume_zone_breakout"]["defaults"] == {
        "hold_period_bars": 1, "volume_window": 10, "top_percentile": 0.2,
        "breakout_buffer": 0.0, "num_bins": 20, "include_wicks": True}
    assert entries["volume_long_candle"]["defaults"] == {
        "hold_period_bars": 1, "vol_ma_window": 20, "vol_multiplier": 1.5, "body_pct": 0.02}
    schema = entries["volume_zone_breakout"]["params_schema"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["num_bins"]["maximum"] == 200
    assert catalog() == catalog()


def test_given_params_when_running_then_document_echoes_the_requested_keys_validated():
    doc = run_rows("volume_zone_breakout", {"volume_window": "3", "include_wicks": True},
                   EXAMPLE_A)
    assert doc["params"] == {"volume_window": 3, "include_wicks": True}
