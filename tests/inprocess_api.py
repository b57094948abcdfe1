"""The API functions invoked in-process with API Gateway v2 events (moto behind them)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from tests.conftest import template_model


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


class InProcessApi:
    """Routes like API Gateway (from template.yaml) and invokes the real handlers."""

    def __init__(self) -> None:
        from infra.local.apigw import Router
        from infra.local.functions import load_function
        model = template_model()
        self._functions = {fn.logical_id: fn for fn in model.functions if fn.routes}
        self._loaded: dict[str, Any] = {}
        self._load = lambda spec: load_function(spec, "us-east-1")
        self._router = Router([(r, fn.logical_id) for fn in self._functions.values()
                               for r in fn.routes])

    def call(self, method: str, path: str, body: Any = None, headers: dict | None = None,
             query: str = "", token_sub: str | None = None) -> Reply:
        from infra.local.apigw import build_event, lambda_response

        match = self._router.match(method, path)
        assert match is not None, f"no route for {method} {path}"
        hdrs = [("content-type", "application/json"), *(headers or {}).items()]
        if token_sub:
            hdrs.append(("authorization", f"Bearer {_unsigned_jwt(token_sub)}"))
        raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        event = build_event(method, path, query, hdrs, raw, match, "127.0.0.1")
        if match.target not in self._loaded:
            self._loaded[match.target] = self._load(self._functions[match.target])
        status, out_headers, payload = lambda_response(self._loaded[match.target].invoke(event))
        text = payload.decode() if payload else ""
        try:
            parsed = json.loads(text) if text else None
        except json.JSONDecodeError:
            parsed = text
        return Reply(status, dict(out_headers), parsed)


def _unsigned_jwt(sub: str) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'sub': sub})}.sig"
