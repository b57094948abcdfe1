"""A plain urllib caller for the end-to-end tests (no client library in the way)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(api_url: str, method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(api_url + path, data=data, method=method,
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            status, hdrs, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        status, hdrs, raw = err.code, dict(err.headers), err.read()
    text = raw.decode() if raw else ""
    return status, {k.lower(): v for k, v in hdrs.items()}, json.loads(text) if text else None
