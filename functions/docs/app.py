"""GET /api/health, /api/openapi.json and /api/docs (Swagger UI) for the whole API.

Includes every router so the OpenAPI document is complete; only health is served from here.
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from backtest_core.api import routes
from backtest_core.api.candles_routes import candles_router
from backtest_core.api.data_routes import data_router
from backtest_core.api.resolver import API_TITLE, API_VERSION, make_resolver
from backtest_core.api.strategy_routes import strategies_router
from backtest_core.api.sync_run import run_sync_router
from backtest_core.observability import logger

app = make_resolver(
    routes.health_router, routes.submit_router, routes.status_router, routes.cancel_router,
    routes.history_router, routes.results_router, data_router, candles_router, strategies_router,
    run_sync_router,
)
app.enable_swagger(path="/api/docs", title=API_TITLE, version=API_VERSION)


@app.get("/api/openapi.json", include_in_schema=False)
def openapi_json() -> Response[Any]:
    body = app.get_openapi_json_schema(title=API_TITLE, version=API_VERSION)
    return Response(200, "application/json", body)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
