"""What API Gateway (HTTP API, payload format 2.0) does around a Lambda: pure functions.

- ``Router``: the template's routes; literal segments beat ``{param}`` which beats
  ``{proxy+}``, so ``/api/backtests/history`` wins over ``/api/backtests/{run_id}``.
- ``build_event``: the v2.0 event (routeKey, rawPath, rawQueryString, lower-cased headers,
  cookies, queryStringParameters, pathParameters, requestContext, body, isBase64Encoded).
- ``jwt_claims``: the claims of a ``Bearer`` JWT, decoded WITHOUT verifying the signature.
  LOCAL ONLY: it lets tests act as different owners; a deployed API validates the token
  with its JWT authorizer before any claim reaches a function.
- ``lambda_response``: status, headers, cookies and body bytes from what the handler returned.
- ``cors_preflight_headers`` / ``cors_response_headers``: the template's CorsConfiguration.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from infra.local.template_model import ACCOUNT_ID, CorsSpec, RouteSpec

API_ID = "local"
_TEXT_TYPES = ("text/", "json", "xml", "javascript", "x-www-form-urlencoded", "yaml")


@dataclass(frozen=True)
class Match:
    route: RouteSpec
    target: str  # logical id of the function
    path_parameters: dict[str, str]


class Router:
    """Routes of the template, matched the way API Gateway HTTP APIs prioritise them."""

    def __init__(self, routes: list[tuple[RouteSpec, str]]) -> None:
        def priority(item: tuple[RouteSpec, str]) -> tuple[tuple[int, ...], bool]:
            segments = item[0].path.strip("/").split("/")
            kinds = tuple(2 if s.endswith("+}") else 1 if s.startswith("{") else 0
                          for s in segments)
            return kinds, item[0].method == "ANY"

        self._routes = sorted(routes, key=priority)

    def match(self, method: str, path: str) -> Match | None:
        segments = path.strip("/").split("/")
        for route, target in self._routes:
            if route.method not in (method, "ANY"):
                continue
            params = _match_path(route.path.strip("/").split("/"), segments)
            if params is not None:
                return Match(route, target, params)
        return None


def _match_path(pattern: list[str], segments: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for i, part in enumerate(pattern):
        if part.startswith("{") and part.endswith("+}"):
            if i >= len(segments) or not segments[i]:
                return None
            params[part[1:-2]] = unquote("/".join(segments[i:]))
            return params
        if i >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            if not segments[i]:
                return None
            params[part[1:-1]] = unquote(segments[i])
        elif part != segments[i]:
            return None
    return params if len(pattern) == len(segments) else None


def build_event(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    match: Match,
    source_ip: str,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload v2.0 event for one request."""
    lowered: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    lowered.setdefault("x-forwarded-for", source_ip)
    lowered.setdefault("x-forwarded-proto", "http")
    now = time.time()
    request_id = uuid.uuid4().hex[:16]
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": lowered.get("host", "localhost"),
        "domainPrefix": lowered.get("host", "localhost").split(".")[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": lowered.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": match.route.route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    claims = jwt_claims(lowered.get("authorization", ""))
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": lowered,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    query = _query_parameters(raw_query)
    if query:
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if body:
        is_text = _is_text(lowered.get("content-type", ""), body)
        event["body"] = body.decode("utf-8") if is_text else base64.b64encode(body).decode()
        event["isBase64Encoded"] = not is_text
    return event


def _query_parameters(raw_query: str) -> dict[str, str]:
    """Repeated keys are joined with commas, as API Gateway does in payload 2.0."""
    out: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def _is_text(content_type: str, body: bytes) -> bool:
    if content_type and not any(t in content_type.lower() for t in _TEXT_TYPES):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class InvalidToken(ValueError):
    """A ``Bearer`` value that is not a decodable JWT (API Gateway would answer 401)."""


def jwt_claims(authorization: str) -> dict[str, str] | None:
    """Claims of ``Authorization: Bearer <jwt>``, or None without a bearer token.

    NOT VERIFIED: no signature, issuer, audience or expiry check. Local harness only.
    Values become strings as API Gateway passes them (lists as ``[a b]``).
    """
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise InvalidToken("not a JWT (expected header.payload.signature)")
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken(f"undecodable JWT payload: {exc}") from exc
    if not isinstance(payload, dict):
        raise InvalidToken("JWT payload is not an object")
    return {str(k): _claim_str(v) for k, v in payload.items()}


def _claim_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_claim_str(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, dict) else str(value)


def lambda_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Map a handler's return value to (status, headers, body) as API Gateway v2.0 does.

    A dict with ``statusCode`` is a structured response; anything else is taken as a JSON
    body with status 200 (the v2.0 "inferred" format).
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        body = json.dumps(result).encode()
        return 200, [("content-type", "application/json")], body
    headers = [(str(k).lower(), str(v)) for k, v in (result.get("headers") or {}).items()]
    headers += [("set-cookie", str(c)) for c in result.get("cookies") or []]
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = raw.encode() if isinstance(raw, str) else json.dumps(raw).encode()
    if not any(k == "content-type" for k, _ in headers) and body:
        headers.append(("content-type", "application/json"))
    return int(result["statusCode"]), headers, body


def _allowed_origin(cors: CorsSpec, origin: str) -> str | None:
    if "*" in cors.allow_origins:
        return "*" if not cors.allow_credentials else origin
    return origin if origin in cors.allow_origins else None


def cors_preflight_headers(cors: CorsSpec, origin: str) -> list[tuple[str, str]]:
    """Headers of API Gateway's own 204 answer to an OPTIONS preflight."""
    allowed = _allowed_origin(cors, origin)
    if allowed is None:
        return []
    headers = [
        ("access-control-allow-origin", allowed),
        ("access-control-allow-methods", ",".join(cors.allow_methods) or "*"),
        ("access-control-allow-headers", ",".join(cors.allow_headers) or "*"),
    ]
    if cors.max_age_s is not None:
        headers.append(("access-control-max-age", str(cors.max_age_s)))
    if cors.allow_credentials:
        headers.append(("access-control-allow-credentials", "true"))
    return headers


def cors_response_headers(cors: CorsSpec, origin: str) -> list[tuple[str, str]]:
    """CORS headers API Gateway sets on an integration's response (they replace the function's)."""
    allowed = _allowed_origin(cors, origin)
    if allowed is None:
        return []
    headers = [("access-control-allow-origin", allowed)]
    if cors.expose_headers:
        headers.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
    if cors.allow_credentials:
        headers.append(("access-control-allow-credentials", "true"))
    return headers
