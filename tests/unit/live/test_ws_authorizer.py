"""functions/ws_authorizer: ?token= checked like API Gateway's JWT authorizer (RS256)."""

from __future__ import annotations

import base64
import importlib.util
import json
import time
from pathlib import Path

import pytest
import rsa

ROOT = Path(__file__).resolve().parents[3]
ISSUER = "https://issuer.example.com/pool"
_spec = importlib.util.spec_from_file_location("ws_authorizer_app",
                                               ROOT / "functions" / "ws_authorizer" / "app.py")
authorizer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(authorizer)
PUBLIC, PRIVATE = rsa.newkeys(1024)  # small for speed; the check is the same
OTHER_PUBLIC, OTHER_PRIVATE = rsa.newkeys(1024)


def _part(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def token(private=PRIVATE, alg: str = "RS256", kid: str = "k1", **claims) -> str:
    body = {"iss": ISSUER, "sub": "alice", "aud": "app", "exp": int(time.time()) + 60, **claims}
    head = _part({"alg": alg, "kid": kid, "typ": "JWT"})
    signing = f"{head}.{_part({k: v for k, v in body.items() if v is not None})}"
    hash_name = {"RS256": "SHA-256", "RS384": "SHA-384", "RS512": "SHA-512"}.get(alg, "SHA-256")
    signature = base64.urlsafe_b64encode(rsa.sign(signing.encode(), private, hash_name))
    return f"{signing}.{signature.decode().rstrip('=')}"


def verify(tok: str, audiences=("app",)) -> str:
    return authorizer.verify(tok, ISSUER, list(audiences), keys={"k1": PUBLIC})


def test_given_a_valid_token_then_its_sub_is_the_owner():
    assert verify(token()) == "alice"
    assert verify(token(alg="RS512")) == "alice"
    assert verify(token(aud=None, client_id="app")) == "alice"  # Cognito access token


@pytest.mark.parametrize("claims", [
    {"exp": -120}, {"nbf": 120},  # seconds from now (beyond the 30 s leeway)
    {"iss": "https://evil.example.com"}, {"aud": "other"},
    {"sub": ""}, {"sub": "x" * 257}, {"sub": None}, {"exp": None},
])
def test_given_bad_claims_then_the_token_is_refused(claims):
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") and v is not None else v
              for k, v in claims.items()}
    with pytest.raises(ValueError, match="invalid token"):
        verify(token(**claims))


def test_given_another_key_or_kid_or_alg_then_the_token_is_refused():
    for bad in (token(private=OTHER_PRIVATE), token(kid="k2"), token(alg="HS256"),
                token(alg="none"), "not.a.jwt", "a.b"):
        with pytest.raises(ValueError, match="invalid token"):
            verify(bad)
    # a header that claims RS512 over an RS256 signature
    head, body, sig = token().split(".")
    forged_head = _part({"alg": "RS512", "kid": "k1"})
    with pytest.raises(ValueError, match="invalid token"):
        verify(f"{forged_head}.{body}.{sig}")


def test_given_the_handler_then_allow_with_sub_or_unauthorized(monkeypatch):
    monkeypatch.setenv("JWT_ISSUER", ISSUER)
    monkeypatch.setenv("JWT_AUDIENCE", "app")
    monkeypatch.setattr(authorizer, "issuer_keys", lambda issuer: {"k1": PUBLIC})
    event = {"queryStringParameters": {"token": token()},
             "methodArn": "arn:aws:execute-api:us-east-1:1:api/live/$connect"}
    allowed = authorizer.lambda_handler(event, None)
    assert allowed["context"] == {"sub": "alice"}
    assert allowed["policyDocument"]["Statement"][0]["Resource"] == event["methodArn"]
    with pytest.raises(Exception, match="Unauthorized"):
        authorizer.lambda_handler({**event, "queryStringParameters": {}}, None)
