"""API Gateway HTTP API behaviour of the local adapter: routing, v2.0 event, responses, CORS."""

from __future__ import annotations

import base64
import json

import pytest

from infra.local.apigw import (
    InvalidToken,
    Match,
    Router,
    build_event,
    cors_preflight_headers,
    jwt_claims,
    lambda_response,
)
from infra.local.template_model import CorsSpec, RouteSpec

ROUTES = [
    (RouteSpec("GET", "/api/backtests/{run_id}"), "Results"),
    (RouteSpec("GET", "/api/backtests/{run_id}/download"), "Results"),
    (RouteSpec("GET", "/api/backtests/history"), "History"),
    (RouteSpec("GET", "/api/backtests/status/{task_id}"), "Status"),
    (RouteSpec("ANY", "/api/files/{proxy+}"), "Files"),
]


@pytest.mark.parametrize(("method", "path", "target", "params"), [
    ("GET", "/api/backtests/history", "History", {}),
    ("GET", "/api/backtests/status/abc", "Status", {"task_id": "abc"}),
    ("GET", "/api/backtests/abc", "Results", {"run_id": "abc"}),
    ("GET", "/api/backtests/abc/download", "Results", {"run_id": "abc"}),
    ("POST", "/api/files/a/b.txt", "Files", {"proxy": "a/b.txt"}),
])
def test_given_routes_when_matching_then_exact_segments_beat_params(
    method: str, path: str, target: str, params: dict[str, str],
) -> None:
    match = Router(ROUTES).match(method, path)

    assert match is not None and match.target == target and match.path_parameters == params


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/backtests/history"), ("GET", "/api/backtests"), ("GET", "/api/backtests/a/b/c"),
])
def test_given_no_route_when_matching_then_none(method: str, path: str) -> None:
    assert Router(ROUTES).match(method, path) is None


def test_given_request_when_event_built_then_v2_shape() -> None:
    match = Match(RouteSpec("GET", "/api/x/{id}"), "F", {"id": "7"})

    event = build_event("GET", "/api/x/7", "a=1&a=2&b=", [("Host", "h:1"), ("X-A", "1"),
                        ("x-a", "2")], b"", match, "10.0.0.1")

    assert event["version"] == "2.0" and event["routeKey"] == "GET /api/x/{id}"
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"]["x-a"] == "1,2" and event["headers"]["host"] == "h:1"
    assert event["pathParameters"] == {"id": "7"}
    assert "body" not in event and event["isBase64Encoded"] is False
    assert event["requestContext"]["domainName"] == "h:1"
    assert "authorizer" not in event["requestContext"]


def test_given_bearer_jwt_when_decoded_then_claims_as_strings_without_verification() -> None:
    payload = base64.urlsafe_b64encode(json.dumps(
        {"sub": "u1", "admin": True, "n": 3, "roles": ["a", "b"]}).encode()).decode().rstrip("=")

    claims = jwt_claims(f"Bearer hdr.{payload}.not-a-real-signature")

    assert claims == {"sub": "u1", "admin": "true", "n": "3", "roles": "[a b]"}
    assert jwt_claims("") is None and jwt_claims("Basic abc") is None
    with pytest.raises(InvalidToken):
        jwt_claims("Bearer not-a-jwt")


def test_given_structured_result_when_mapped_then_status_headers_cookies_body() -> None:
    status, headers, body = lambda_response({
        "statusCode": 201, "headers": {"X-A": "1"}, "cookies": ["c=1"],
        "body": base64.b64encode(b"\x00").decode(), "isBase64Encoded": True})

    assert status == 201 and body == b"\x00"
    assert ("x-a", "1") in headers and ("set-cookie", "c=1") in headers


def test_given_plain_result_when_mapped_then_inferred_json_200() -> None:
    assert lambda_response({"ok": True}) == (
        200, [("content-type", "application/json")], b'{"ok": true}')


def test_given_star_origins_when_preflight_then_wildcard_and_config() -> None:
    cors = CorsSpec(["*"], ["GET", "POST"], ["content-type"], [], 600, False)

    headers = dict(cors_preflight_headers(cors, "https://x.test"))

    assert headers == {"access-control-allow-origin": "*",
                       "access-control-allow-methods": "GET,POST",
                       "access-control-allow-headers": "content-type",
                       "access-control-max-age": "600"}
