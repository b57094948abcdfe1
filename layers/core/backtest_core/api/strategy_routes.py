"""Strategies: the catalog (built-ins and the owner's saved rule documents), the rule
document's JSON Schema, and saving, reading and deleting documents (docs/rules.md)."""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel

from backtest_core.api.resolver import owner_of, responses
from backtest_core.errors import DocumentTooLarge
from backtest_core.models import STRATEGY_NAME_PATTERN, StrategiesView
from backtest_core.services import services
from backtest_core.usecases import strategies as uc

strategies_router = Router()
# The body's full shape is published once, at GET /api/strategies/schema; the limits across
# its fields (declared $names, node count, depth) are beyond JSON Schema: 422 names the path.
DOCUMENT_DESCRIPTION = ("A rule document (JSON Schema: GET /api/strategies/schema; "
                        "docs/rules.md); 422 names the path of what is wrong")
StrategyPathName = Annotated[str, Path(pattern=STRATEGY_NAME_PATTERN)]


class StrategySaved(BaseModel):
    """Answer of ``PUT /api/strategies/{name}``."""

    name: str
    version: str
    created_at: str


@strategies_router.get(
    "/api/strategies", summary="Built-in and saved strategies with their parameters",
    tags=["strategies"], responses=responses(StrategiesView, 401),
)
def list_strategies() -> StrategiesView:
    return StrategiesView.model_validate(uc.catalog(owner_of(strategies_router), services()))


@strategies_router.get(
    "/api/strategies/schema", summary="JSON Schema (draft 2020-12) of a rule document",
    tags=["strategies"], responses=responses(None, ok_description="The JSON Schema"),
)
def rule_schema() -> Response[Any]:
    return Response(200, "application/json", _schema_json())


@cache
def _schema_json() -> str:
    from backtest_contract.rules import rule_json_schema

    return json.dumps(rule_json_schema())


@strategies_router.put(
    "/api/strategies/<name>", summary="Save a rule document under a name (per owner)",
    tags=["strategies"], responses=responses(StrategySaved, 401, 409, 413),
)
def put_strategy(name: StrategyPathName,
                 document: Annotated[dict[str, Any], Body(
                     embed=False, description=DOCUMENT_DESCRIPTION,
                     json_schema_extra={"required": ["name", "entry"]})]) -> StrategySaved:
    owner = owner_of(strategies_router)
    raw = strategies_router.current_event.decoded_body or ""
    limit = uc.MAX_DOCUMENT_BYTES
    if len(raw.encode("utf-8")) > limit:  # checked before anything else
        raise DocumentTooLarge(len(raw.encode("utf-8")), limit)
    return StrategySaved.model_validate(uc.save(name, document, owner, services()))


@strategies_router.get(
    "/api/strategies/<name>", summary="A saved rule document", tags=["strategies"],
    responses=responses(None, 401, 404, ok_description="The document as saved"),
)
def get_strategy(name: StrategyPathName) -> Response[Any]:
    document = uc.get(name, owner_of(strategies_router), services())
    return Response(200, "application/json", json.dumps(document, ensure_ascii=False))


@strategies_router.delete(
    "/api/strategies/<name>", summary="Delete a saved rule document", tags=["strategies"],
    responses={204: {"description": "Deleted"},
               **{k: v for k, v in responses(None, 401, 404).items() if k != 200}},
)
def delete_strategy(name: StrategyPathName) -> Response[Any]:
    uc.delete(name, owner_of(strategies_router), services())
    return Response(204, "application/json", "")



