"""The dependency rule of docs/contracts.md, checked on the syntax tree of every module.

Usage: ``python -m infra.check_deps [--root DIR]`` (``make check-deps``). Prints one
``path:line: message`` per violation and a summary line; exits 1 on any violation.

Rules (an import counts anywhere in a module: top level, inside a function, under
``TYPE_CHECKING``, or as ``importlib.import_module("name")`` / ``__import__("name")`` with a
literal name):

- ``functions/<name>/``: first-party imports are ``backtest_core`` only; ``worker``,
  ``run_sync`` and ``candles`` may also import ``backtest_engine``; ``ingest`` (the scheduled
  refresh) may import ``backtest_engine`` and ``backtest_ingest``. Other functions import no pandas,
  numpy, ccxt or engine code, so their cold start stays small.
- ``layers/core/backtest_core/``: never pandas, numpy, pyarrow, fastparquet, aws_xray_sdk or
  ``backtest_engine`` (the Fargate container's entry point, ``infra/fargate/entry.py``,
  composes core and engine like the worker handler does).
- ``layers/engine/backtest_engine/``: never boto3, botocore or ``backtest_core``, except
  ``adapter.py``, the one module that maps a core request to an engine call.
- ``layers/ingest/backtest_ingest/`` (IngestLayer): composes core and engine with ccxt; never
  ``backtest_client``. Neither the core nor the engine imports it or ccxt.
- ``layers/core/backtest_contract/`` (the shared vocabulary both import): pydantic and the
  standard library only — no first-party package, no AWS SDK, no Powertools, no pandas/numpy.
- Everywhere: never pyarrow (fastparquet is the parquet engine; pyarrow is too big for Lambda).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HEAVY = frozenset({"pandas", "numpy", "pyarrow", "fastparquet", "ccxt"})
FIRST_PARTY = frozenset({"backtest_contract", "backtest_core", "backtest_engine",
                         "backtest_ingest", "backtest_client", "infra"})
ENGINE_FUNCTIONS = frozenset({"worker", "run_sync", "candles"})
INGEST_FUNCTIONS = frozenset({"ingest"})

CORE_FORBIDDEN = HEAVY | {"aws_xray_sdk", "backtest_engine", "backtest_ingest", "backtest_client"}
ENGINE_FORBIDDEN = frozenset({"boto3", "botocore", "backtest_core", "backtest_ingest",
                              "backtest_client", "pyarrow", "ccxt"})
INGEST_FORBIDDEN = frozenset({"backtest_client", "infra", "pyarrow"})
ENGINE_ADAPTERS = frozenset({"adapter.py"})  # may import backtest_core (and through it boto3)
CONTRACT_FORBIDDEN = ((FIRST_PARTY - {"backtest_contract"}) | HEAVY
                      | {"boto3", "botocore", "aws_lambda_powertools", "aws_xray_sdk"})


@dataclass(frozen=True)
class Violation:
    path: Path
    line: int
    message: str

    def render(self, root: Path) -> str:
        try:
            shown = self.path.relative_to(root)
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}: {self.message}"


def imported_modules(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """Yield (top-level package, line) for every absolute import in ``tree``.

    >>> [m for m, _ in imported_modules(ast.parse("import a.b\\nfrom c import d"))]
    ['a', 'c']
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:  # relative imports stay inside the package
                yield node.module.split(".")[0], node.lineno
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            name = node.args[0].value if isinstance(node.args[0], ast.Constant) else None
            if isinstance(name, str) and not name.startswith("."):
                yield name.split(".")[0], node.lineno


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def _rules_for(path: Path, root: Path) -> tuple[frozenset[str], str] | None:
    """Forbidden top-level packages for ``path`` and the rule's name; None if unconstrained."""
    parts = path.relative_to(root).parts
    if len(parts) >= 3 and parts[0] == "functions":
        if parts[1] in ENGINE_FUNCTIONS:
            forbidden = (FIRST_PARTY - {"backtest_core", "backtest_engine"}) | {"pyarrow", "ccxt"}
        elif parts[1] in INGEST_FUNCTIONS:
            forbidden = (FIRST_PARTY - {"backtest_core", "backtest_engine", "backtest_ingest"}) | {
                "pyarrow"}
        else:
            forbidden = (FIRST_PARTY - {"backtest_core"}) | HEAVY
        return frozenset(forbidden), f"functions/{parts[1]}"
    if parts[:3] == ("layers", "core", "backtest_core"):
        forbidden = CORE_FORBIDDEN
        return frozenset(forbidden), "backtest_core"
    if parts[:3] == ("layers", "core", "backtest_contract"):
        return frozenset(CONTRACT_FORBIDDEN), "backtest_contract"
    if parts[:3] == ("layers", "engine", "backtest_engine"):
        forbidden = ENGINE_FORBIDDEN
        if path.name in ENGINE_ADAPTERS and len(parts) == 4:
            forbidden = ENGINE_FORBIDDEN - {"backtest_core", "boto3", "botocore"}
        return frozenset(forbidden), "backtest_engine"
    if parts[:3] == ("layers", "ingest", "backtest_ingest"):
        return INGEST_FORBIDDEN, "backtest_ingest"
    return None


def check_file(path: Path, root: Path) -> list[Violation]:
    rules = _rules_for(path, root)
    if rules is None:
        return []
    forbidden, scope = rules
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        return [Violation(path, exc.lineno or 1, f"cannot parse: {exc.msg}")]
    return [
        Violation(path, line, f"{scope} must not import {module!r} (docs/contracts.md)")
        for module, line in imported_modules(tree)
        if module in forbidden
    ]


def python_files(root: Path) -> Iterator[Path]:
    for base in (
        root / "functions",
        root / "layers" / "core" / "backtest_core",
        root / "layers" / "core" / "backtest_contract",
        root / "layers" / "engine" / "backtest_engine",
        root / "layers" / "ingest" / "backtest_ingest",
    ):
        if base.is_dir():
            yield from sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)


def check_tree(root: Path) -> tuple[int, list[Violation]]:
    files = list(python_files(root))
    violations = [v for path in files for v in check_file(path, root)]
    return len(files), violations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    checked, violations = check_tree(root)
    for violation in violations:
        print(violation.render(root))
    print(f"check_deps: {checked} module(s) checked, {len(violations)} violation(s)")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
