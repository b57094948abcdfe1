"""infra/local/sandbox_runtime.py: a sandbox told to stop (SIGTERM) exits, whatever it runs.

The stack stops a sandbox with stdin EOF and SIGTERM. The signal can land inside a
callback (an import's module-lock weakref, a finaliser), where a SystemExit raised by
the handler is printed as "Exception ignored" and swallowed: the sandbox would run on
until the stack's SIGKILL, with a traceback in the log.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent("""
    import atexit, gc, signal, sys, time
    from pathlib import Path
    from infra.local.sandbox_runtime import _stop_on_sigterm

    out = Path(sys.argv[1])
    atexit.register(lambda: out.write_text("hooks ran"))
    signal.signal(signal.SIGTERM, _stop_on_sigterm)

    class Slow:
        def __del__(self):  # the signal arrives while a finaliser runs
            print("in finaliser", flush=True)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                time.sleep(0.01)

    Slow()
    gc.collect()
    time.sleep(60)  # only reached when the exit was swallowed
""")


def test_given_sigterm_inside_a_finaliser_then_the_sandbox_exits_with_its_hooks(tmp_path):
    marker = tmp_path / "hooks"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(marker)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "in finaliser"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(10)
        stopped_s = time.monotonic() - started
    finally:
        proc.kill()
        proc.wait()
    stderr = proc.stderr.read()
    assert code == 0, stderr
    assert stopped_s < 5, stopped_s
    assert "Exception ignored" not in stderr and "Traceback" not in stderr, stderr
    assert marker.read_text() == "hooks ran"


def _pool(tmp_path: Path, module_source: str):
    from infra.local.sandbox import FunctionPool
    from infra.local.template_model import FunctionSpec

    (tmp_path / "app.py").write_text(textwrap.dedent(module_source))
    spec = FunctionSpec("WorkerFunction", "stack-WorkerFunction", tmp_path, "app.lambda_handler",
                        {}, 3, 128)
    return FunctionPool(spec, "us-east-1", {}, concurrency=1)


def test_given_a_group_signal_before_the_sandbox_left_the_group_then_it_counts_as_stopping(
        tmp_path):
    """A SIGTERM to the stack's process group can reach a sandbox forked that instant,
    before its setsid: it dies of SIGTERM while importing. The stack is stopping, so the
    invocation is SandboxStopped (the message stays queued), not a function failure."""
    from infra.local.sandbox import SandboxStopped

    pool = _pool(tmp_path, """
        import os, signal
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as before the runtime's handler
        os.kill(os.getpid(), signal.SIGTERM)
    """)
    try:
        with pytest.raises(SandboxStopped):
            pool.invoke({})
    finally:
        pool.close()


def test_given_a_sandbox_that_exits_while_importing_then_it_is_an_init_error(tmp_path):
    from infra.local.sandbox import InvocationError, SandboxStopped

    pool = _pool(tmp_path, """
        import os
        os._exit(3)
    """)
    try:
        with pytest.raises(InvocationError) as caught:
            pool.invoke({})
    finally:
        pool.close()
    assert not isinstance(caught.value, SandboxStopped)
    assert caught.value.error_type == "Runtime.InitError"
