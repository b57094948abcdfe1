"""Lambda-like sandboxes: each function runs in its own worker process(es).

``FunctionPool(spec, ...)`` is what the HTTP adapter, the SQS dispatcher and the scheduler
invoke. Like Lambda, it runs one invocation per sandbox process at a time:

- **cold start on first use**: a sandbox is ``python -m infra.local.sandbox_runtime sandbox
  <LogicalId>`` (``ps``/``pgrep -f "sandbox WorkerFunction"`` find it), started when no warm
  one is idle, with the function's own environment only; the import time is logged;
- **warm reuse** over the process's stdin/stdout pipes (length-prefixed JSON frames): no
  process is spawned per request;
- **at most ``concurrency``** sandboxes; more callers wait for a free one;
- **background functions** (queue consumers) may run at a lower CPU priority (``nice``):
  on a 2-core laptop the engine would otherwise take the CPU from the API's sandboxes,
  which Lambda never shares with it;
- **timeout**: an invocation still running after the template's ``Timeout`` is killed with
  its process (SIGKILL) and fails with Lambda's "Task timed out after N.00 seconds"; a
  sandbox that dies mid-invocation (``kill -9``) fails it with "Runtime exited". Either way
  the caller sees ``InvocationError``: API Gateway answers 500, an SQS batch is not deleted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.local.sandbox_runtime import INIT_HOOK_VAR, NICE_VAR
from infra.local.template_model import FunctionSpec

log = logging.getLogger("local.sandbox")
REPO_ROOT = Path(__file__).resolve().parents[2]
INIT_TIMEOUT_S = 60.0  # Lambda allows 10 s of init; cold imports on a busy 2-core box are slower
STOP_GRACE_S = 2.0
_HEADER = struct.Struct(">I")


class InvocationError(Exception):
    """The invocation failed: the handler raised, timed out, or its sandbox died."""

    def __init__(self, function: str, error_type: str, message: str, trace: str = ""):
        super().__init__(f"{function}: {error_type}: {message}")
        self.error_type = error_type
        self.trace = trace


class SandboxStopped(InvocationError):
    """The stack is stopping: the pool is closed (its sandboxes are being stopped)."""

    def __init__(self, function: str):
        super().__init__(function, "Sandbox.Stopped", "the local stack is stopping")


class _Gone(Exception):
    """The sandbox closed its pipe (it exited or was killed)."""


class Sandbox:
    """One sandbox process of a function."""

    def __init__(self, spec: FunctionSpec, region: str, env: Mapping[str, str], nice: int = 0):
        self.spec = spec
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "infra.local.sandbox_runtime", "sandbox", spec.logical_id],
            cwd=REPO_ROOT, env={**env, NICE_VAR: str(nice)}, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=None,
            # Its own session: a signal to the stack's process group (SIGTERM from a
            # supervisor, Ctrl-C) reaches the stack only, which stops its sandboxes in order
            # (stdin EOF, then SIGTERM); a sandbox outliving the stack exits by itself
            # (sandbox_runtime: parent watch).
            start_new_session=True,
        )
        self._in = self.proc.stdin
        self._out_fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        self._buffer = b""
        self._hello({"spec": {"logical_id": spec.logical_id, "name": spec.name,
                             "code_dir": str(spec.code_dir), "handler": spec.handler,
                             "timeout_s": spec.timeout_s, "memory_mb": spec.memory_mb},
                    "region": region})

    def _hello(self, doc: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # it died at once: wait_ready says so (InitError)
            self._send(doc)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self) -> float:
        """Block until the handler is imported; the init time in ms. InvocationError if the
        import failed (Lambda's Runtime.ImportModuleError) or it took too long."""
        try:
            reply = self._receive(time.monotonic() + INIT_TIMEOUT_S)
        except (_Gone, TimeoutError) as exc:
            self.kill()
            raise InvocationError(self.spec.logical_id, "Runtime.InitError",
                                  f"sandbox did not start: {exc or type(exc).__name__}") from None
        if not reply.get("ready"):
            self.kill()
            raise InvocationError(self.spec.logical_id, "Runtime.ImportModuleError",
                                  f"{reply.get('errorType')}: {reply.get('errorMessage')}",
                                  "".join(reply.get("stackTrace") or []))
        return float(reply.get("init_ms", 0.0))

    def invoke(self, event: dict[str, Any] | None, timeout_s: float, kind: str = "event") -> Any:
        """One invocation (``kind`` "event"), or the stack's warm-up ("warmup", warmup.py)."""
        started = time.monotonic()
        try:
            self._send({kind: event})
            reply = self._receive(started + timeout_s)
        except TimeoutError:
            self.kill()
            raise InvocationError(self.spec.logical_id, "Sandbox.Timedout",
                                  f"Task timed out after {timeout_s:.2f} seconds") from None
        except (_Gone, BrokenPipeError, OSError):
            code = self.proc.wait()
            raise InvocationError(self.spec.logical_id, "Runtime.ExitError",
                                  f"Runtime exited with error: exit status {code}") from None
        if reply.get("ok"):
            return reply.get("result")
        raise InvocationError(self.spec.logical_id, str(reply.get("errorType")),
                              str(reply.get("errorMessage")),
                              "".join(reply.get("stackTrace") or []))

    def close(self) -> None:
        """EOF on its stdin: the sandbox exits after its current invocation."""
        try:
            if self._in is not None:
                self._in.close()
        except OSError:
            pass

    def terminate(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM (its exit hooks run), SIGKILL after ``grace_s``."""
        self.ask_to_stop()
        self.wait_stopped(time.monotonic() + grace_s)

    def ask_to_stop(self) -> None:
        """EOF on its stdin and SIGTERM (its exit hooks run); returns at once."""
        self.close()
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)

    def wait_stopped(self, deadline: float) -> None:
        """Wait for its exit until ``deadline`` (monotonic), then SIGKILL."""
        try:
            self.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait()
        self.close()

    def _send(self, doc: dict[str, Any]) -> None:
        payload = json.dumps(doc, default=str).encode()
        assert self._in is not None
        self._in.write(_HEADER.pack(len(payload)) + payload)
        self._in.flush()

    def _receive(self, deadline: float) -> dict[str, Any]:
        size: int | None = None
        while True:
            if size is None and len(self._buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack(self._buffer[:_HEADER.size])
                self._buffer = self._buffer[_HEADER.size:]
            if size is not None and len(self._buffer) >= size:
                payload, self._buffer = self._buffer[:size], self._buffer[size:]
                return json.loads(payload)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError()
            ready, _, _ = select.select([self._out_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._out_fd, 1 << 16)
            if not chunk:
                raise _Gone("pipe closed")
            self._buffer += chunk


class FunctionPool:
    """Up to ``concurrency`` warm sandboxes of one function (see the module docstring)."""

    def __init__(self, spec: FunctionSpec, region: str, shared_env: Mapping[str, str],
                 concurrency: int, nice: int = 0, init_hook: str | None = None) -> None:
        self.spec = spec
        self.concurrency = max(1, concurrency)
        self.nice = nice  # CPU priority of background functions (the API's stays first)
        self.init_hook = init_hook
        self._region = region
        self._shared = dict(shared_env)
        self._idle: list[Sandbox] = []
        self._busy: set[Sandbox] = set()
        self._starting = 0
        self._cold: set[Sandbox] = set()  # sandboxes still importing (stopped by close())
        self._stopping: list[Sandbox] = []  # what close() asked to stop (join() waits)
        self._cond = threading.Condition()
        self._closed = False

    @property
    def sandboxes(self) -> list[int]:
        """Pids of this function's live sandboxes (idle and busy)."""
        with self._cond:
            return [s.pid for s in [*self._idle, *self._busy]]

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run one invocation in a warm (or newly started) sandbox; InvocationError on failure."""
        sandbox = self._acquire()
        ok = False
        try:
            result = sandbox.invoke(event, self.spec.timeout_s)
            ok = True
            return result
        except InvocationError as exc:
            if self._closed and exc.error_type == "Runtime.ExitError":  # close() stopped it
                raise SandboxStopped(self.spec.logical_id) from None
            if exc.error_type == "Sandbox.Timedout":
                log.warning("%s: invocation exceeded its Timeout of %ss: sandbox pid %d killed",
                            self.spec.logical_id, self.spec.timeout_s, sandbox.pid)
            elif exc.error_type == "Runtime.ExitError":
                log.warning("%s: sandbox pid %d died mid-invocation (%s)", self.spec.logical_id,
                            sandbox.pid, exc)
            else:
                ok = sandbox.alive()  # the handler raised: the sandbox stays warm
            raise
        finally:
            self._release(sandbox, keep=ok)

    def warm_up(self, event: dict[str, Any] | None) -> int:
        """Start a sandbox (or take an idle one) and run the warm-up in it (warmup.py): its
        pid, idle again afterwards. InvocationError when it fails."""
        sandbox = self._acquire()
        ok = False
        try:
            sandbox.invoke(event, self.spec.timeout_s, kind="warmup")
            ok = True
            return sandbox.pid
        except InvocationError as exc:  # the handler raised: the sandbox stays, imported
            ok = exc.error_type not in ("Sandbox.Timedout", "Runtime.ExitError") and \
                sandbox.alive()
            raise
        finally:
            self._release(sandbox, keep=ok)

    def close(self, wait: bool = True) -> None:
        """Stop every sandbox (importing, idle and busy ones) at once: stdin EOF and SIGTERM,
        SIGKILL after STOP_GRACE_S. ``wait=False`` returns at once; ``join()`` then waits,
        so that a stack stops all its pools in one grace period, not one per sandbox."""
        with self._cond:
            self._closed = True
            self._stopping = [*self._idle, *self._busy, *self._cold]
            self._idle.clear()
            self._cond.notify_all()
        for sandbox in self._stopping:
            sandbox.ask_to_stop()
        if wait:
            self.join(time.monotonic() + STOP_GRACE_S)

    def join(self, deadline: float) -> None:
        """After ``close(wait=False)``: wait for the sandboxes' exit until ``deadline``
        (monotonic), SIGKILL those still running."""
        for sandbox in self._stopping:
            sandbox.wait_stopped(deadline)

    def _acquire(self) -> Sandbox:
        with self._cond:
            while True:
                if self._closed:
                    raise SandboxStopped(self.spec.logical_id)
                while self._idle:
                    sandbox = self._idle.pop()
                    if sandbox.alive():
                        self._busy.add(sandbox)
                        return sandbox
                    log.warning("%s: idle sandbox pid %d had exited; replaced",
                                self.spec.logical_id, sandbox.pid)
                if len(self._busy) + self._starting < self.concurrency:
                    self._starting += 1
                    break
                self._cond.wait()
        try:
            return self._start()
        finally:
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()

    def _start(self) -> Sandbox:
        started = time.perf_counter()
        # The environment is built now, at the cold start: variables set on the spec after
        # the pool was made (e.g. a URL known once the API listens) are seen.
        env = sandbox_env(self.spec, self._shared, init_hook=self.init_hook)
        sandbox = Sandbox(self.spec, self._region, env, self.nice)
        with self._cond:
            self._cold.add(sandbox)
        try:
            init_ms = sandbox.wait_ready()  # raises (sandbox killed) when the import fails
        except InvocationError:
            # close() stopped it mid-import, or a signal to the stack's process group
            # (Ctrl-C, a supervisor's SIGTERM) reached it between fork and setsid, before
            # it left the group: either way the stack is stopping.
            if self._closed or sandbox.proc.poll() in (-signal.SIGINT, -signal.SIGTERM):
                raise SandboxStopped(self.spec.logical_id) from None
            raise
        finally:
            with self._cond:
                self._cold.discard(sandbox)
        with self._cond:
            closed = self._closed
            if not closed:
                self._busy.add(sandbox)
        if closed:  # the stack began stopping during the cold start: no invocation now
            sandbox.terminate()
            raise SandboxStopped(self.spec.logical_id)
        log.info("cold start %s: sandbox pid %d ready in %.0f ms (init %.0f ms)",
                 self.spec.logical_id, sandbox.pid, (time.perf_counter() - started) * 1000,
                 init_ms)
        return sandbox

    def _release(self, sandbox: Sandbox, keep: bool) -> None:
        with self._cond:
            self._busy.discard(sandbox)
            if keep and not self._closed and sandbox.alive():
                self._idle.append(sandbox)
            self._cond.notify_all()
        if not keep or self._closed:
            sandbox.terminate()


def sandbox_env(spec: FunctionSpec, shared: Mapping[str, str],
                base: Mapping[str, str] | None = None,
                init_hook: str | None = None) -> dict[str, str]:
    """The process environment of ``spec``'s sandboxes: ``base`` (the stack's own, default
    ``os.environ``) without any function's variables, then ``shared`` (endpoint, region,
    credentials), then the function's own variables, as Lambda gives each function only its
    own."""
    from infra.local.emulation import FAKE_CREDENTIALS

    env = dict(os.environ if base is None else base)
    for key in shared:
        env.pop(key, None)
    for key in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION", *FAKE_CREDENTIALS):
        if key in shared:
            env[key] = shared[key]
    env.update(spec.environment)
    env.pop(INIT_HOOK_VAR, None)
    if init_hook:
        env[INIT_HOOK_VAR] = init_hook
    env["PYTHONUNBUFFERED"] = "1"
    return env
