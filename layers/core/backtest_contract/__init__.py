"""The shared vocabulary of the service and the engine (pydantic only, in the CoreLayer).

``market``: symbols and timeframes (docs/contracts.md) and the storage layout's directory names.
``strategies``: the strategies' names, descriptions and typed parameter models (docs/engine.md).
``metrics``: the result document's metrics with their units (for the OpenAPI document).
``backtest_core`` validates requests with these models at the API; ``backtest_engine``
runs with the very same models — one definition, nothing generated, nothing to drift.
"""
