"""``python -m infra.local.sandbox_runtime sandbox <LogicalId>``: one Lambda-like sandbox.

The local stack (``sandbox.py``) starts one such process per concurrent execution of a
function. Its command line names the function (``sandbox WorkerFunction``), so an operator
can find and kill it like a crashed Lambda runtime.

Protocol over the process's stdin/stdout (the parent holds the other ends): frames of a
4-byte big-endian length and a JSON document.

1. parent → ``{"spec": {...}, "region": "..."}`` (what ``FunctionSpec`` says);
2. the sandbox imports the handler (the cold start) and answers ``{"ready": true,
   "init_ms": ...}`` or ``{"ready": false, "errorType": ..., "errorMessage": ...}``;
3. then, one at a time: ``{"event": ...}`` → ``{"ok": true, "result": ...}`` or
   ``{"ok": false, "errorType": ..., "errorMessage": ..., "stackTrace": [...]}``; the
   stack's ``{"warmup": event-or-null}`` before it serves (warmup.py) is answered alike.

EOF on stdin (the stack stopped, or died) ends the process; so does a change of parent
(the stack was killed mid-invocation: no orphan keeps running). The function's stdout (print,
Powertools' JSON logs) goes to stderr, as Lambda sends both to CloudWatch Logs. The
environment was prepared by the parent (the function's own variables only). An optional
``LOCAL_SANDBOX_INIT=module:function`` is called after the import (e.g. the Fargate
stand-in injects its launcher into the worker's services).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import logging
import os
import signal
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Any, BinaryIO

_HEADER = struct.Struct(">I")
INIT_HOOK_VAR = "LOCAL_SANDBOX_INIT"
NICE_VAR = "LOCAL_SANDBOX_NICE"  # CPU niceness the parent asks for (background functions)


def write_frame(stream: BinaryIO, doc: dict[str, Any]) -> None:
    payload = json.dumps(doc).encode()  # TypeError for a result Lambda could not marshal
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    """The next frame, or None at EOF."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    payload = _read_exactly(stream, size)
    return None if payload is None else json.loads(payload)


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    """``size`` bytes, or None at EOF. An unbuffered pipe read returns what is there (at
    most the 64 KB pipe buffer), so a large event arrives in several reads."""
    chunks: list[bytes] = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _error(exc: BaseException) -> dict[str, Any]:
    return {"errorType": type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)}


def _spec_from(doc: dict[str, Any]) -> Any:
    """The FunctionSpec fields a sandbox needs (its variables are already in the env)."""
    from infra.local.template_model import FunctionSpec

    raw = doc["spec"]
    return FunctionSpec(logical_id=raw["logical_id"], name=raw["name"],
                        code_dir=Path(raw["code_dir"]), handler=raw["handler"], environment={},
                        timeout_s=int(raw["timeout_s"]), memory_mb=int(raw["memory_mb"]))


def serve(logical_id: str, inbox: BinaryIO, outbox: BinaryIO) -> int:
    from infra.local.functions import LambdaContext, load_function

    hello = read_frame(inbox)
    if hello is None:
        return 0
    spec = _spec_from(hello)
    region = hello["region"]
    started = time.perf_counter()
    try:
        loaded = load_function(spec, region)
        hook = os.environ.get(INIT_HOOK_VAR)
        if hook:
            module, _, attr = hook.partition(":")
            getattr(importlib.import_module(module), attr)()
    except Exception as exc:
        write_frame(outbox, {"ready": False, **_error(exc)})
        return 1
    write_frame(outbox, {"ready": True, "init_ms": (time.perf_counter() - started) * 1000})
    while (request := read_frame(inbox)) is not None:
        context = LambdaContext(spec, region)
        try:
            if "warmup" in request:
                result = _warm_up(loaded, request["warmup"], context)
            else:
                result = loaded.handler(request["event"], context)
            reply = {"ok": True, "result": result}
        except Exception as exc:
            reply = {"ok": False, **_error(exc)}
        try:
            write_frame(outbox, reply)
        except TypeError as exc:  # not JSON: Lambda fails the invocation the same way
            write_frame(outbox, {"ok": False, "errorType": "Runtime.MarshalError",
                                 "errorMessage": f"Unable to marshal response: {exc}"})
    return 0


def _warm_up(loaded: Any, event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """The stack's warm-up (warmup.py): the first call's lazy work done before the first
    request: this function's services (boto3 clients, the stored-data listing), then the
    handler once with ``event`` (Powertools' route and validation setup), answer ignored."""
    started = time.perf_counter()
    services = sys.modules.get("backtest_core.services")
    if services is not None:
        stored = getattr(services.services(), "stored", None)
        if stored is not None:  # the submit functions' stored-data listing
            stored.timeframes([])
    if event is not None:
        loaded.handler(event, context)
    return {"warm_ms": (time.perf_counter() - started) * 1000}


def _stop_on_sigterm(*_: Any) -> None:
    """Exit now, once, with the atexit hooks run (e.g. the Fargate stand-in stops its
    containers). Not ``sys.exit``: the signal may arrive inside a callback (an import's
    module-lock weakref, a finaliser) where SystemExit is printed as "Exception ignored"
    and swallowed, and the sandbox would run on. A second SIGTERM is ignored so it cannot
    interrupt the hooks."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        atexit._run_exitfuncs()  # what interpreter exit runs; errors are printed there
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(0)


def _exit_with_parent(parent: int) -> None:
    """A daemon thread that ends the process once the stack (its parent) is gone."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "sandbox":
        print("usage: python -m infra.local.sandbox_runtime sandbox <LogicalId>",
              file=sys.stderr)
        return 2
    logical_id = args[1]
    _exit_with_parent(os.getppid())
    nice = int(os.environ.pop(NICE_VAR, "0") or 0)
    if nice:
        os.nice(nice)
    # The protocol keeps the original stdin/stdout; fd 1 becomes stderr for the function.
    inbox = os.fdopen(os.dup(0), "rb", buffering=0)
    outbox = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the stack stops us
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    logging.basicConfig(level=os.environ.get("LOCAL_LOG_LEVEL", "INFO"),
                        format=f"%(asctime)s %(levelname)-7s sandbox {logical_id}"
                               " %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    try:
        return serve(logical_id, inbox, outbox)
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    finally:  # exiting on EOF: the stack's SIGTERM that follows must not interrupt the exit
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(main())
