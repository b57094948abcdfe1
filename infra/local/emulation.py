"""The embedded AWS: moto's server on 127.0.0.1, bootstrapped from template.yaml.

``start_emulation`` starts moto's server in a child process (``moto_process.py``: its own
GIL, the DynamoDB lock of ``moto_lock.py`` installed, HTTP/1.1 keep-alive; it exits with
this process), creates the template's resources and exports
``AWS_ENDPOINT_URL``, fake credentials, the region and every function's environment
variables into ``os.environ`` (tests that load handlers in-process read them there; the
stack's sandboxes get their own function's variables only, ``sandbox.sandbox_env``).
"""

from __future__ import annotations

import logging
import os
import select
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import boto3

from infra.local.bootstrap import create_resources, enable_state_machine_execution
from infra.local.journal import NO_JOURNAL_HEADER
from infra.local.moto_process import OPEN_PATH
from infra.local.template_model import TemplateModel, build_model

log = logging.getLogger("local.emulation")
REGION = "us-east-1"
MOTO_START_TIMEOUT_S = 60.0  # cold imports on a busy CI box; ~0.5 s on a laptop
REPO_ROOT = Path(__file__).resolve().parents[2]
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# What the harness sets on top of the template: the contract's local environment name,
# and no X-Ray daemon to send traces to.
LOCAL_FUNCTION_ENV = {"ENVIRONMENT": "local", "POWERTOOLS_TRACE_DISABLED": "true"}


@dataclass
class Emulation:
    """A running moto server with the template's resources in it."""

    endpoint_url: str
    model: TemplateModel
    queue_urls: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    _process: subprocess.Popen[bytes] | None = None
    visibility_timeout_s: int | None = None  # the override the resources were made with

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def exit_code(self) -> int | None:
        """None while the moto process runs; its exit code (reaped: no zombie) once it
        has died (negative: killed by that signal) or was stopped."""
        if self._process is None:
            return 0
        return self._process.poll()

    def restart(self, journal: Path | None = None) -> None:
        """A new moto process on the same port in place of a dead one, with the
        template's resources created again (empty: the caller reloads the data). If
        anything fails the dead process stays in place, so ``exit_code`` still says so."""
        dead = self._process
        port = urlsplit(self.endpoint_url).port or 0
        proc, _ = start_moto_process("127.0.0.1", port, journal, gated=True)
        self._process = proc
        try:
            _bootstrap(self, self.model, self.visibility_timeout_s, journalled=False)
        except BaseException:
            self._process = dead
            proc.kill()
            proc.wait()
            raise

    def open(self) -> None:
        """Let everyone into a restarted (gated) moto process: its state is reloaded."""
        request = urllib.request.Request(f"{self.endpoint_url}{OPEN_PATH}", data=b"",
                                         method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local
            response.read()

    def client(self, service: str, journalled: bool = True) -> object:
        """A boto3 client for ``service`` pointed at the emulator; ``journalled=False``:
        its writes skip the write journal (the stack's own snapshot load, docs/local.md)."""
        client = boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        if not journalled:
            client.meta.events.register(  # type: ignore[attr-defined]
                "before-sign.*.*", lambda request, **_: request.headers.__setitem__(
                    NO_JOURNAL_HEADER, "1"))
        return client

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the moto process: EOF on its stdin, then SIGKILL if it lingers."""
        proc, self._process = self._process, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("moto (pid %d) did not exit in %g s: killed", proc.pid, timeout_s)
            proc.kill()
            proc.wait()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_emulation(
    template_path: str | Path,
    port: int | None = None,
    visibility_timeout_override_s: int | None = None,
    parameter_overrides: dict[str, str] | None = None,
    export_env: bool = True,
    journal: Path | None = None,
) -> Emulation:
    """Start moto on 127.0.0.1:``port`` (0/None: a free port) and bootstrap the template."""
    proc, bound_port = start_moto_process("127.0.0.1", port or 0, journal)
    endpoint = f"http://127.0.0.1:{bound_port}"
    try:
        model = build_model(template_path, endpoint, REGION,
                            parameter_overrides=parameter_overrides)
    except BaseException:
        Emulation(endpoint, None, {}, _process=proc).stop()  # type: ignore[arg-type]
        raise
    for fn in model.functions:
        fn.environment.update(LOCAL_FUNCTION_ENV)
    emu = Emulation(endpoint_url=endpoint, model=model, queue_urls={}, _process=proc,
                    visibility_timeout_s=visibility_timeout_override_s)
    try:
        _bootstrap(emu, model, visibility_timeout_override_s)
    except BaseException:
        emu.stop()
        raise
    emu.env = function_env(model, endpoint)
    if export_env:
        os.environ.pop("AWS_PROFILE", None)  # never read a real profile from ~/.aws
        os.environ.update(emu.env)
    log.info(
        "moto at %s: %d tables, %d queues, %d buckets",
        endpoint, len(model.tables), len(model.queues), len(model.buckets),
    )
    return emu


def _bootstrap(emu: Emulation, model: TemplateModel, visibility_timeout_s: int | None,
               journalled: bool = True) -> None:
    enable_state_machine_execution(emu.endpoint_url)
    clients = {s: emu.client(s, journalled) for s in ("dynamodb", "sqs", "s3", "stepfunctions")}
    emu.queue_urls = create_resources(model, clients, visibility_timeout_s)
    _check_queue_urls(model, emu.queue_urls)


def start_moto_process(host: str, port: int, journal: Path | None = None,
                       gated: bool = False) -> tuple[subprocess.Popen[bytes], int]:
    """``python -m infra.local.moto_process`` as a child; returns it and its bound port.

    Its stdin is a pipe only this process holds: when this process exits (even killed),
    the child sees EOF and exits too.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local.moto_process", "--host", host, "--port", str(port),
         "--parent-pid", str(os.getpid()),
         *(["--journal", str(journal)] if journal is not None else []),
         *(["--gated"] if gated else [])],
        cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + MOTO_START_TIMEOUT_S
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, remaining))
        chunk = os.read(proc.stdout.fileno(), 256) if ready else b""
        if not chunk:  # EOF (it died) or the deadline passed
            proc.kill()
            proc.wait()
            raise RuntimeError(f"moto did not start on {host}:{port} (exit {proc.returncode},"
                               f" said {line!r}); see the log above")
        line += chunk
    proc.stdout.close()
    word, _, value = line.decode().strip().partition(" ")
    if word != "READY":
        proc.kill()
        proc.wait()
        raise RuntimeError(f"moto process said {line!r}")
    return proc, int(value)


def function_env(model: TemplateModel, endpoint_url: str) -> dict[str, str]:
    """The union of every function's environment plus endpoint, region and fake credentials.

    A variable that two functions set differently cannot hold both values here; each
    sandbox gets its own function's values (``sandbox.sandbox_env``), and in-process
    loading re-applies them while importing (``functions.load_function``).
    """
    env: dict[str, str] = {}
    for fn in model.functions:
        for key, value in fn.environment.items():
            if key in env and env[key] != value:
                log.debug("env %s differs between functions (each sandbox has its own)", key)
            env.setdefault(key, value)
    env.update(LOCAL_FUNCTION_ENV)
    env.update(FAKE_CREDENTIALS)
    env.update(
        {"AWS_ENDPOINT_URL": endpoint_url, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
    )
    return env


def _check_queue_urls(model: TemplateModel, urls: dict[str, str]) -> None:
    for queue in model.queues:
        if urls.get(queue.logical_id) != queue.url:
            raise RuntimeError(f"{queue.logical_id}: moto says {urls.get(queue.logical_id)}, "
                               f"the template model says {queue.url}")
