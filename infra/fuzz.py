"""Schemathesis against the local stack: ``python -m infra.fuzz [--max-time S]`` (make fuzz).

Starts ``infra.local.stack`` on free ports (``StackProcess``), unless ``API_URL`` points at
a running API, and runs ``schemathesis run`` on its ``/api/openapi.json`` with every check
(``--checks all``), the configuration in tests/fuzz/schemathesis.toml, a time budget and a
fixed seed (reproducible; ``--seed`` to vary). Requests carry a bearer token whose ``sub``
is ``fuzzer`` (the local API Gateway stand-in decodes it), so fuzzed tasks have their own
owner. Exit status: schemathesis' (0 = no failure).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from infra.local.process import REPO_ROOT, StackProcess

CONFIG = REPO_ROOT / "tests" / "fuzz" / "schemathesis.toml"


def bearer(sub: str) -> str:
    """An unsigned JWT with ``sub`` (the local stack reads claims without verifying)."""
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"Bearer {part({'alg': 'none'})}.{part({'sub': sub})}.sig"


def schemathesis_command(api_url: str, max_time_s: int, seed: int, workers: int,
                         report_dir: Path) -> list[str]:
    exe = Path(sys.executable).with_name("schemathesis")
    return [
        str(exe), "--config-file", str(CONFIG), "run", f"{api_url}/api/openapi.json",
        "--checks", "all", "--max-time", str(max_time_s), "--seed", str(seed),
        "--workers", str(workers), "--request-timeout", "15",
        "--header", f"Authorization:{bearer('fuzzer')}",
        "--report", "junit", "--report-dir", str(report_dir), "--no-color",
    ]


def run(max_time_s: int, seed: int, workers: int, report_dir: Path) -> int:
    if os.environ.get("API_URL"):
        return subprocess.call(schemathesis_command(os.environ["API_URL"].rstrip("/"),
                                                    max_time_s, seed, workers, report_dir))
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        stack = StackProcess(Path(tmp) / "stack.log", WORKERS="1")
        try:
            stack.wait_healthy(60)
            code = subprocess.call(schemathesis_command(stack.api_url, max_time_s, seed,
                                                        workers, report_dir), cwd=REPO_ROOT)
        finally:
            _, clean = stack.stop()
        if code != 0:
            print(f"--- local stack log (tail) ---\n{stack.tail(80)}", file=sys.stderr)
        return code if clean else code or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-time", type=int, default=180, help="seconds of fuzzing")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--report-dir", type=Path, default=REPO_ROOT / "build" / "fuzz")
    args = parser.parse_args(argv)
    return run(args.max_time, args.seed, args.workers, args.report_dir)


if __name__ == "__main__":
    sys.exit(main())
