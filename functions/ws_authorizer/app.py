"""WebSocket ``$connect`` REQUEST authorizer: ``?token=<JWT>`` checked like the HTTP API's
JWT authorizer — browsers cannot set an Authorization header on a WebSocket.

Checks: an RS256/RS384/RS512 signature by a key of the issuer's JWKS (OIDC discovery;
refetched once for an unknown ``kid``, i.e. after a key rotation), ``iss``, ``exp``
(and ``nbf``), the audience as ``aud`` or Cognito's ``client_id``, a usable ``sub``. The
signature check itself is the ``rsa`` library's (PKCS#1 v1.5). Allow → the policy's context
carries ``sub`` (the task owner, read by ws_connect); any failure → "Unauthorized" (API
Gateway answers 401). Only deployed with JwtIssuer set.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.request
from collections.abc import Mapping
from functools import cache
from typing import Any

import rsa

MAX_SUB_CHARS = 256
LEEWAY_S = 30  # clock skew allowed on exp/nbf
_HASHES = {"RS256": "SHA-256", "RS384": "SHA-384", "RS512": "SHA-512"}


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _int(part: str) -> int:
    return int.from_bytes(_b64(part), "big")


@cache
def issuer_keys(issuer: str) -> dict[str, rsa.PublicKey]:
    """``{kid: key}`` of the issuer's RSA signing keys, via OIDC discovery (cached)."""
    base = issuer.rstrip("/")
    with urllib.request.urlopen(f"{base}/.well-known/openid-configuration", timeout=5) as r:  # noqa: S310
        jwks_uri = json.load(r)["jwks_uri"]
    with urllib.request.urlopen(jwks_uri, timeout=5) as r:  # noqa: S310 - the issuer's own
        keys = json.load(r)["keys"]
    return {k.get("kid", ""): rsa.PublicKey(_int(k["n"]), _int(k["e"]))
            for k in keys if k.get("kty") == "RSA" and k.get("use", "sig") == "sig"}


def verify(token: str, issuer: str, audiences: list[str],
           keys: Mapping[str, rsa.PublicKey] | None = None, now: float | None = None) -> str:
    """The token's ``sub`` when it is valid for ``issuer``/``audiences``; ValueError else."""
    try:
        head, body, signature = token.split(".")
        header, claims = json.loads(_b64(head)), json.loads(_b64(body))
        raw_signature = _b64(signature)
    except ValueError:
        raise ValueError("invalid token: not a JWT") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("invalid token: not a JWT")
    alg = header.get("alg")
    if alg not in _HASHES:
        raise ValueError(f"invalid token: algorithm {alg!r}")
    key = _key(issuer, str(header.get("kid", "")), keys)
    try:
        used = rsa.verify(f"{head}.{body}".encode(), raw_signature, key)
    except rsa.VerificationError:
        raise ValueError("invalid token: signature") from None
    if used != _HASHES[alg]:
        raise ValueError("invalid token: algorithm mismatch")
    _check_claims(claims, issuer, audiences, time.time() if now is None else now)
    return claims["sub"]


def _key(issuer: str, kid: str, keys: Mapping[str, rsa.PublicKey] | None) -> rsa.PublicKey:
    if keys is not None:
        found = keys.get(kid)
    else:
        found = issuer_keys(issuer).get(kid)
        if found is None:  # a rotated key set: fetch it again, once
            issuer_keys.cache_clear()
            found = issuer_keys(issuer).get(kid)
    if found is None:
        raise ValueError("invalid token: unknown key")
    return found


def _check_claims(claims: dict[str, Any], issuer: str, audiences: list[str],
                  now: float) -> None:
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int | float) or now > exp + LEEWAY_S:
        raise ValueError("invalid token: expired")
    if isinstance(nbf, int | float) and now < nbf - LEEWAY_S:
        raise ValueError("invalid token: not yet valid")
    if claims.get("iss") != issuer:
        raise ValueError("invalid token: issuer")
    aud = claims.get("aud")
    token_audiences = set(aud if isinstance(aud, list) else [aud] if aud else [])
    if claims.get("client_id"):
        token_audiences.add(claims["client_id"])
    if audiences and not token_audiences & set(audiences):
        raise ValueError("invalid token: audience")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUB_CHARS:
        raise ValueError("invalid token: sub")


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
