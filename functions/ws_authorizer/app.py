"""WebSocket ``$connect`` REQUEST authorizer: ``?token=<JWT>`` checked like the HTTP API's
JWT authorizer (signature against the issuer's JWKS, ``iss``, ``exp``, audience as ``aud``
or Cognito's ``client_id``) — browsers cannot set an Authorization header on a WebSocket.

Allow → the policy's context carries ``sub`` (the task owner, read by ws_connect); any
failure → "Unauthorized" (API Gateway answers 401). Only deployed with JwtIssuer set.
"""

from __future__ import annotations

import json
import os
import urllib.request
from functools import cache
from typing import Any

import jwt

MAX_SUB_CHARS = 256
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384"]


@cache
def _jwks_client(issuer: str) -> jwt.PyJWKClient:
    """The issuer's key set via OIDC discovery (cached for the life of the sandbox)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - the configured issuer
        jwks_uri = json.load(resp)["jwks_uri"]
    return jwt.PyJWKClient(jwks_uri, cache_keys=True)


def verify(token: str, issuer: str, audiences: list[str], key: Any | None = None) -> str:
    """The token's ``sub`` when it is valid for ``issuer``/``audiences``; ValueError else."""
    try:
        signing_key = key if key is not None else _jwks_client(issuer).get_signing_key_from_jwt(
            token).key
        claims = jwt.decode(token, signing_key, algorithms=ALGORITHMS, issuer=issuer,
                            options={"verify_aud": False, "require": ["exp", "iss", "sub"]})
    except jwt.PyJWTError as exc:
        raise ValueError(f"invalid token: {exc}") from None
    aud = claims.get("aud")
    token_audiences = set(aud if isinstance(aud, list) else [aud] if aud else [])
    if claims.get("client_id"):
        token_audiences.add(claims["client_id"])
    if audiences and not token_audiences & set(audiences):
        raise ValueError("invalid token: audience")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUB_CHARS:
        raise ValueError("invalid token: sub")
    return sub


def lambda_handler(event: dict, context: object) -> dict:
    token = (event.get("queryStringParameters") or {}).get("token") or ""
    audiences = [a for a in os.environ.get("JWT_AUDIENCE", "").split(",") if a]
    try:
        sub = verify(token, os.environ["JWT_ISSUER"], audiences)
    except ValueError:
        raise Exception("Unauthorized") from None  # noqa: TRY002 - API Gateway's 401 contract
    return {
        "principalId": sub,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]},
        "context": {"sub": sub},
    }
