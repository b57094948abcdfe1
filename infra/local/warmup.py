"""Warm the API functions' sandboxes before the stack serves its first request.

A cold sandbox costs the first request ~0.5 s of imports plus ~0.3 s of lazy first-call
work (the services' boto3 clients, the stored-data listing, Powertools' route and
validation setup): the first submit after ``make run`` took ~600-1000 ms against its
100 ms budget (docs/api.md). So the stack starts one sandbox per function with HTTP routes and
sends it a warm-up (``sandbox_runtime``: the services are built, then the handler is
called once with ``warm_up_event``, its answer ignored) before it accepts requests.
Deployed, Lambda has no such call; provisioned concurrency would pay the import only.

The warm-up event reads, never writes: a GET route of the function (path parameters
``warm-up``), else a POST/PUT with the body ``{}`` (always a 422), else none (a DELETE-only
function gets only its services built).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable
from typing import Any

from infra.local.apigw import Match, build_event
from infra.local.sandbox import FunctionPool
from infra.local.template_model import FunctionSpec, RouteSpec

log = logging.getLogger("local.warmup")
WARM_UP_PATH_PARAMETER = "warm-up"
_PARAMETER = re.compile(r"\{([^}+]+)\+?\}")


def warm_up_event(spec: FunctionSpec) -> dict[str, Any] | None:
    """The API Gateway event the warm-up sends to ``spec`` (see the module docstring)."""
    by_method = {method: [r for r in spec.routes if r.method == method]
                 for method in ("GET", "ANY", "POST", "PUT")}
    for method in ("GET", "ANY", "POST", "PUT"):
        if by_method[method]:
            return _event(by_method[method][0], "GET" if method == "ANY" else method)
    return None


def warm_up_pools(pools: Iterable[FunctionPool]) -> list[threading.Thread]:
    """Start warming every pool of a function with HTTP routes, one thread each; join the
    threads before serving. A failed warm-up is logged and leaves the pool cold."""
    threads = [threading.Thread(target=_warm, args=(pool,), name=f"warm-{pool.spec.logical_id}",
                                daemon=True)
               for pool in pools if pool.spec.routes]
    for thread in threads:
        thread.start()
    return threads


def _warm(pool: FunctionPool) -> None:
    started = time.perf_counter()
    try:
        pid = pool.warm_up(warm_up_event(pool.spec))
    except Exception as exc:  # the stack still serves; the first request pays the cold start
        log.warning("warm-up of %s failed (its first request starts cold): %s",
                    pool.spec.logical_id, exc)
        return
    log.info("warm %s: sandbox pid %d ready for its first request (%.0f ms)",
             pool.spec.logical_id, pid, (time.perf_counter() - started) * 1000)


def _event(route: RouteSpec, method: str) -> dict[str, Any]:
    parameters = {name: WARM_UP_PATH_PARAMETER for name in _PARAMETER.findall(route.path)}
    path = _PARAMETER.sub(WARM_UP_PATH_PARAMETER, route.path)
    body = b"{}" if method in ("POST", "PUT") else b""
    headers = [("host", "localhost"), ("user-agent", "local-stack-warm-up")]
    if body:
        headers.append(("content-type", "application/json"))
    return build_event(method, path, "", headers, body, Match(route, "", parameters),
                       "127.0.0.1")
