"""Import a Lambda handler and call it with a Lambda-like context.

moto never runs Lambda code, so the harness imports each function's ``app.py`` by file
path under a unique module name (two functions' ``app`` modules must not collide in
``sys.modules``), the way Lambda puts the CodeUri directory first on ``sys.path``. The
local stack does this inside each function's sandbox process (``sandbox_runtime.py``);
tests also load handlers in-process with it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from infra.local.template_model import ACCOUNT_ID, FunctionSpec

log = logging.getLogger("local.functions")
Handler = Callable[[dict[str, Any], Any], Any]
_IMPORT_LOCK = threading.Lock()


class LambdaContext:
    """What Lambda passes as ``context`` (the attributes Powertools and handlers read)."""

    def __init__(self, spec: FunctionSpec, region: str) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{spec.name}"
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + spec.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the template's Timeout (never negative)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class LoadedFunction:
    """One function of the template with its handler imported (cold start done): one
    Lambda execution environment, so one invocation at a time (callers from several
    threads take turns; Powertools' resolver keeps the current event on its instance)."""

    spec: FunctionSpec
    handler: Handler
    region: str
    _turn: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler like Lambda does; warns when the template's Timeout is exceeded."""
        with self._turn:
            return self._invoke(event)

    def _invoke(self, event: dict[str, Any]) -> Any:
        context = LambdaContext(self.spec, self.region)
        try:
            return self.handler(event, context)
        finally:
            if context.get_remaining_time_in_millis() == 0:
                log.warning("%s ran past its Timeout of %ss (Lambda would have killed it)",
                            self.spec.logical_id, self.spec.timeout_s)


def load_function(spec: FunctionSpec, region: str) -> LoadedFunction:
    """Import ``spec``'s handler module from its CodeUri with the function's env applied."""
    module_name, _, attr = spec.handler.rpartition(".")
    path = spec.code_dir / (module_name.replace(".", "/") + ".py")
    if not path.is_file():
        raise FileNotFoundError(f"{spec.logical_id}: handler file {path} does not exist")
    unique = f"lambda_{spec.logical_id}_{module_name.replace('.', '_')}"
    with _IMPORT_LOCK, _cold_start_env(spec), _code_dir_on_path(spec):
        module = _import_file(unique, str(path))
    handler = getattr(module, attr, None)
    if not callable(handler):
        raise AttributeError(f"{spec.logical_id}: {path} has no callable {attr!r}")
    return LoadedFunction(spec=spec, handler=handler, region=region)


def _import_file(name: str, path: str) -> ModuleType:
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


@contextmanager
def _cold_start_env(spec: FunctionSpec) -> Iterator[None]:
    """Apply the function's own variables during import (settings are read at cold start).

    Variables that another function sets differently are restored afterwards.
    """
    saved = {key: os.environ.get(key) for key in spec.environment}
    os.environ.update(spec.environment)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _code_dir_on_path(spec: FunctionSpec) -> Iterator[None]:
    entry = str(spec.code_dir)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        if entry in sys.path:
            sys.path.remove(entry)
