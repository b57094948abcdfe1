"""functions/ws_authorizer: ?token= checked like API Gateway's JWT authorizer."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[3]
ISSUER = "https://issuer.example.com/pool"
_spec = importlib.util.spec_from_file_location("ws_authorizer_app",
                                               ROOT / "functions" / "ws_authorizer" / "app.py")
authorizer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(authorizer)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def token(**claims) -> str:
    body = {"iss": ISSUER, "sub": "alice", "aud": "app", "exp": int(time.time()) + 60, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, KEY, algorithm="RS256")


def verify(tok: str, audiences=("app",)) -> str:
    return authorizer.verify(tok, ISSUER, list(audiences), key=KEY.public_key())


def test_given_a_valid_token_then_its_sub_is_the_owner():
    assert verify(token()) == "alice"
    assert verify(token(aud=None, client_id="app")) == "alice"  # Cognito access token


@pytest.mark.parametrize("claims", [
    {"exp": int(time.time()) - 10}, {"iss": "https://evil.example.com"}, {"aud": "other"},
    {"sub": ""}, {"sub": "x" * 257}, {"sub": None},
])
def test_given_a_bad_token_then_it_is_refused(claims):
    with pytest.raises(ValueError, match="invalid token"):
        verify(token(**claims))


def test_given_another_key_then_the_signature_is_refused():
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"iss": ISSUER, "sub": "alice", "aud": "app",
                         "exp": int(time.time()) + 60}, other, algorithm="RS256")
    with pytest.raises(ValueError, match="invalid token"):
        verify(forged)
