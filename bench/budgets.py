"""Cold-start budgets of the Lambda functions: import time and unzipped package size.

Usage: ``python bench/budgets.py`` (``make sizes``). Prints a table and PASS/FAIL per budget;
exits 1 if any budget fails. Needs PyPI for part (b)/(c) only (pip's cache is reused between
runs, and installed trees are kept under build/budgets/ keyed by the requirements' hash).

(a) Import time of each API function's ``app.py``, each in a FRESH interpreter (a cold start
    imports everything once), median of 5 runs after one discarded warm-up (which fills the
    bytecode cache), against ``import boto3`` measured the same way, interleaved in the same
    rounds (so machine load affects both alike). Budget:
    ``<= boto3 + 250 ms`` and none of pandas, numpy, pyarrow, aws_xray_sdk in ``sys.modules``.
(b) Unzipped size of one API function as deployed: CoreLayer dependencies (pip-installed for
    CPython 3.12 manylinux x86_64, as ``sam build`` does) + ``backtest_core`` + the function
    folder. boto3/botocore are excluded: the Lambda python3.12 runtime provides them.
    Budget: <= 20 MB.
(c) Worker with both layers: core + engine dependencies (layers/engine/requirements.txt) +
    ``backtest_core`` + ``backtest_engine`` + functions/worker. Budget: <= 250 MB, Lambda's
    hard limit on unzipped function code plus layers.

When ``sam build`` output exists (``.aws-sam/build``, e.g. after ``make build-check``), (b)
and (c) measure those built folders instead — what ``sam deploy`` uploads — plus the
XRayLayer when it was built, and FAIL if any layer ships boto3/botocore (they would shadow
the runtime's pair: a version skew). The pip-install estimate is the fallback.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API_FUNCTIONS = ("submit", "status", "cancel", "history", "results", "strategies", "docs")
HEAVY_MODULES = ("pandas", "numpy", "pyarrow", "aws_xray_sdk")
RUNS = 5
IMPORT_BUDGET_OVER_BOTO3_MS = 250.0
API_SIZE_BUDGET_MB = 20.0
WORKER_SIZE_BUDGET_MB = 250.0
ENGINE_FALLBACK_REQUIREMENTS = ("numpy", "pandas", "fastparquet")
# In the Lambda runtime already; never counted (and removed if a dependency pulls them in).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Lambda python3.12 runs on Amazon Linux 2023 (glibc 2.34): these wheel tags all load there.
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64")
CACHE = ROOT / "build" / "budgets"
SAM_BUILD = ROOT / ".aws-sam" / "build"
MB = 1024 * 1024

# Dummy settings so that modules reading configuration at import succeed; no AWS call is made.
CHILD_ENV = {
    "TASKS_TABLE": "budget-tasks",
    "IDEMPOTENCY_TABLE": "budget-idempotency",
    "JOBS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/budget-jobs",
    "BUCKET": "budget-bucket",
    "DATA_PREFIX": "data/",
    "RESULTS_PREFIX": "results/",
    "ENVIRONMENT": "dev",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "async-backtest-budget",
    "POWERTOOLS_METRICS_NAMESPACE": "AsyncBacktest",
    "POWERTOOLS_TRACE_DISABLED": "true",
}

# Runs in a fresh interpreter: times the import of argv[1] (a file path, or "boto3").
CHILD = """
import importlib.util, json, sys, time
from pathlib import Path
target = sys.argv[1]
if target != "boto3":
    sys.path.insert(0, str(Path(target).parent))  # Lambda puts the code folder on sys.path
started = time.perf_counter()
if target == "boto3":
    import boto3
else:
    spec = importlib.util.spec_from_file_location("app", target)
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
elapsed_ms = (time.perf_counter() - started) * 1000
heavy = sorted(m for m in sys.argv[2].split(",") if m in sys.modules)
print(json.dumps({"ms": elapsed_ms, "heavy": heavy}))
"""


@dataclass
class Row:
    label: str
    value: str
    budget: str
    note: str
    ok: bool | None  # None = not measured

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "SKIP"}[self.ok]


# ---------------------------------------------------------------- (a) import time
def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(CHILD_ENV)
    return env


def import_once(target: str) -> tuple[float, list[str]]:
    """Import time (ms) of ``target`` in one fresh interpreter, and the heavy modules it loaded."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, target, ",".join(HEAVY_MODULES)],
        capture_output=True,
        text=True,
        env=_child_env(),
        cwd=ROOT,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["ms"], result["heavy"]


def import_rows() -> list[Row]:
    """Rounds of (boto3, every function), interleaved so that a busy machine slows the
    baseline and the functions alike; round 0 only warms the bytecode cache."""
    targets = {"boto3": "boto3"}
    rows_missing: list[Row] = []
    for name in API_FUNCTIONS:
        app = ROOT / "functions" / name / "app.py"
        if app.is_file():
            targets[f"functions/{name}/app.py"] = str(app)
        else:
            rows_missing.append(
                Row(f"functions/{name}/app.py", "missing", "", "no app.py yet", None)
            )
    samples: dict[str, list[float]] = {label: [] for label in targets}
    heavy: dict[str, set[str]] = {label: set() for label in targets}
    errors: dict[str, str] = {}
    for run in range(RUNS + 1):
        for label, target in targets.items():
            if label in errors:
                continue
            try:
                ms, seen = import_once(target)
            except RuntimeError as exc:
                errors[label] = str(exc)[:60]
                continue
            heavy[label].update(seen)
            if run > 0:
                samples[label].append(ms)
    if "boto3" in errors:
        raise RuntimeError(f"import boto3 failed: {errors['boto3']}")
    baseline_ms = statistics.median(samples["boto3"])
    budget_ms = baseline_ms + IMPORT_BUDGET_OVER_BOTO3_MS
    rows = [Row("import boto3 (baseline)", f"{baseline_ms:7.0f} ms", "", "", None)]
    for label in list(targets)[1:]:
        if label in errors:
            rows.append(Row(label, "error", f"<= {budget_ms:.0f} ms", errors[label], False))
            continue
        ms = statistics.median(samples[label])
        seen = sorted(heavy[label])
        note = "heavy: " + ",".join(seen) if seen else "no heavy modules"
        ok = ms <= budget_ms and not seen
        rows.append(Row(label, f"{ms:7.0f} ms", f"<= {budget_ms:.0f} ms", note, ok))
    return rows + rows_missing


# ---------------------------------------------------------------- (b)/(c) sizes
def tree_bytes(path: Path) -> int:
    """Apparent size of the files under ``path`` (what counts towards Lambda's unzipped limit),
    without bytecode caches (Lambda packages are built without them)."""
    if path.is_file():
        return path.stat().st_size
    return sum(
        p.stat().st_size
        for p in path.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.is_symlink()
    )


def requirement_lines(path: Path) -> list[str]:
    lines = [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines()]
    return [ln for ln in lines if ln]


def pip_install(requirements: list[str]) -> Path:
    """Install ``requirements`` for CPython 3.12 manylinux x86_64 into a cached target dir."""
    key = hashlib.sha256("\n".join(sorted(requirements) + list(PLATFORMS)).encode()).hexdigest()
    target = CACHE / key[:16]
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        req.write("\n".join(requirements) + "\n")
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(target),
        *platforms,
        "--implementation",
        "cp",
        "--python-version",
        "3.12",
        "--only-binary=:all:",
        "-r",
        req.name,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    os.unlink(req.name)
    if proc.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        raise RuntimeError(tail[-1] if tail else "pip failed")
    for name in RUNTIME_PROVIDED:  # pulled in by a dependency: still provided by the runtime
        for path in target.glob(f"{name}*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    (target / ".complete").write_text("ok\n")
    return target


def size_rows() -> list[Row]:
    core_reqs = requirement_lines(ROOT / "layers" / "core" / "requirements.txt")
    engine_file = ROOT / "layers" / "engine" / "requirements.txt"
    engine_reqs = (
        requirement_lines(engine_file)
        if engine_file.is_file()
        else list(ENGINE_FALLBACK_REQUIREMENTS)
    )
    core_pkg = (tree_bytes(ROOT / "layers" / "core" / "backtest_core")
                + tree_bytes(ROOT / "layers" / "core" / "backtest_contract"))
    engine_pkg = tree_bytes(ROOT / "layers" / "engine" / "backtest_engine")
    rows: list[Row] = []
    try:
        core_deps = tree_bytes(pip_install(core_reqs))
    except RuntimeError as exc:
        return [Row("CoreLayer dependencies", "pip failed", "", str(exc)[:70], None)]
    rows.append(Row(f"CoreLayer deps ({', '.join(core_reqs)})", _mb(core_deps), "", "", None))
    rows.append(Row("backtest_core + backtest_contract packages", _mb(core_pkg), "", "", None))
    for name in API_FUNCTIONS:
        folder = ROOT / "functions" / name
        if not folder.is_dir():
            rows.append(Row(f"functions/{name} + CoreLayer", "missing", "", "", None))
            continue
        total = core_deps + core_pkg + tree_bytes(folder)
        rows.append(
            Row(
                f"functions/{name} + CoreLayer",
                _mb(total),
                f"<= {API_SIZE_BUDGET_MB:.0f} MB",
                "",
                total <= API_SIZE_BUDGET_MB * MB,
            )
        )
    try:
        all_deps = tree_bytes(pip_install(core_reqs + engine_reqs))
    except RuntimeError as exc:
        rows.append(Row("worker + EngineLayer", "pip failed", "", str(exc)[:70], None))
        return rows
    rows.append(
        Row(f"core + engine deps (+ {', '.join(engine_reqs)})", _mb(all_deps), "", "", None)
    )
    rows.append(Row("backtest_engine package", _mb(engine_pkg), "", "", None))
    total = all_deps + core_pkg + engine_pkg + tree_bytes(ROOT / "functions" / "worker")
    rows.append(
        Row(
            "functions/worker + CoreLayer + EngineLayer",
            _mb(total),
            f"<= {WORKER_SIZE_BUDGET_MB:.0f} MB",
            "",
            total <= WORKER_SIZE_BUDGET_MB * MB,
        )
    )
    return rows


def built_rows(build: Path) -> list[Row]:
    """(b)/(c) from ``sam build`` output: the folders ``sam deploy`` zips and uploads.

    Every layer and every function of the built template, each function with its layers
    (Globals' + its own; a conditional layer counts when it was built). Budget: 20 MB for a
    function with the CoreLayer only (plus the optional XRayLayer), else 250 MB."""
    built_at = time.strftime("%Y-%m-%d %H:%M", time.localtime((build / "template.yaml")
                                                                 .stat().st_mtime))
    resources, global_layers = _built_template(build)
    sizes = {rid: tree_bytes(build / rid) for rid in resources if (build / rid).is_dir()}
    rows: list[Row] = []
    for rid, rtype in resources.items():
        if rtype == "AWS::Serverless::LayerVersion" and rid in sizes:
            shipped = sorted(p.name for p in (build / rid / "python").glob("*")
                             if p.name.split("-")[0] in RUNTIME_PROVIDED)
            rows.append(Row(f"{rid} (sam build {built_at})", _mb(sizes[rid]), "no boto*",
                            "ships " + ", ".join(shipped) if shipped else "", not shipped))
    for rid, rtype in resources.items():
        if rtype != "AWS::Serverless::Function" or rid not in sizes:
            continue
        layers = [lid for lid in global_layers + _layer_refs(resources[rid + "#layers"])
                  if lid in sizes]
        light = set(layers) <= {"CoreLayer", "XRayLayer"}
        budget = API_SIZE_BUDGET_MB if light else WORKER_SIZE_BUDGET_MB
        total = sizes[rid] + sum(sizes[lid] for lid in layers)
        rows.append(Row(f"{rid} + {' + '.join(layers)}", _mb(total), f"<= {budget:.0f} MB",
                        "", total <= budget * MB))
    return rows


def _built_template(build: Path) -> tuple[dict[str, Any], list[str]]:
    """``{logical id: type}`` (plus ``"<id>#layers"``: the function's own Layers) and the
    layer ids of Globals, from the built template."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}

    Loader.add_multi_constructor("!", tag)
    template = yaml.load((build / "template.yaml").read_text(), Loader=Loader)
    resources: dict[str, Any] = {}
    for rid, res in template.get("Resources", {}).items():
        resources[rid] = res.get("Type")
        resources[rid + "#layers"] = (res.get("Properties") or {}).get("Layers") or []
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    return resources, _layer_refs(globals_fn.get("Layers") or [])


def _layer_refs(value: Any) -> list[str]:
    """Logical ids referenced by a Layers list (``Ref`` and both branches of ``Fn::If``)."""
    if isinstance(value, list):
        return [lid for item in value for lid in _layer_refs(item)]
    if isinstance(value, dict):
        if "Ref" in value:
            return [value["Ref"]] if not str(value["Ref"]).startswith("AWS::") else []
        if "Fn::If" in value:
            return _layer_refs(value["Fn::If"][1:])
    return []


def _mb(size: int) -> str:
    return f"{size / MB:7.1f} MB"


# ---------------------------------------------------------------- report
def print_table(title: str, rows: list[Row]) -> None:
    print(title)
    width = max(len(r.label) for r in rows)
    for r in rows:
        verdict = r.verdict if r.ok is not None or r.budget or r.note else ""
        print(f"  {r.label:<{width}}  {r.value:>11}  {r.budget:<12} {verdict:<5} {r.note}".rstrip())
    print()


def main() -> int:
    print(f"Budgets (python {sys.version.split()[0]} for imports; sizes for CPython 3.12 x86_64)\n")
    imports = import_rows()
    print_table(
        f"(a) import time, fresh process, median of {RUNS}; budget boto3 + "
        f"{IMPORT_BUDGET_OVER_BOTO3_MS:.0f} ms, no {'/'.join(HEAVY_MODULES)}",
        imports,
    )
    if (SAM_BUILD / "template.yaml").is_file():
        sizes = built_rows(SAM_BUILD)
        title = "(b)/(c) unzipped size of the sam build output (.aws-sam/build)"
    else:
        sizes = size_rows()
        title = ("(b)/(c) unzipped size, pip-installed estimate (no .aws-sam/build: run "
                 "`make build-check`); boto3/botocore excluded (provided by the runtime)")
    print_table(title, sizes)
    failed = [r.label for r in imports + sizes if r.ok is False]
    skipped = [r.label for r in imports + sizes if r.ok is None and (r.budget or r.note)]
    print(
        f"{'FAIL' if failed else 'PASS'}: {len(failed)} budget(s) failed"
        + (f" ({', '.join(failed)})" if failed else "")
        + (f"; {len(skipped)} not measured" if skipped else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
