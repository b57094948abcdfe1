"""The dependency rule checker, on small trees written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.check_deps import check_tree, main

ROOT = Path(__file__).resolve().parents[3]


def write(root: Path, relative: str, source: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A tree that follows the rule."""
    write(tmp_path, "functions/status/app.py", "from backtest_core.api import routes\n")
    write(tmp_path, "functions/worker/app.py", "import backtest_engine\nimport backtest_core\n")
    write(tmp_path, "functions/run_sync/app.py", "from backtest_engine import run_backtest\n")
    write(tmp_path, "layers/core/backtest_core/__init__.py", "from . import models\n")
    write(tmp_path, "layers/core/backtest_core/repository.py", "import boto3\nimport json\n")
    write(tmp_path, "layers/engine/backtest_engine/__init__.py", "import numpy as np\n")
    write(tmp_path, "layers/core/backtest_contract/market.py", "import re\nimport pydantic\n")
    write(
        tmp_path,
        "layers/engine/backtest_engine/adapter.py",
        "from backtest_core.models import BacktestRequest\n",
    )
    return tmp_path


def messages(root: Path) -> list[str]:
    return [v.render(root) for v in check_tree(root)[1]]


def test_given_a_tree_that_follows_the_rule_then_no_violation(tree):
    checked, violations = check_tree(tree)
    assert checked == 8
    assert violations == []


@pytest.mark.parametrize(
    ("relative", "source", "expected"),
    [
        # an API function importing heavy modules, even lazily inside a function
        ("functions/status/app.py", "def f():\n    import pandas\n", "functions/status/app.py:2:"),
        ("functions/history/app.py", "from numpy import array\n", "functions/history/app.py:1:"),
        (
            "functions/submit/app.py",
            "import backtest_engine.runner\n",
            "functions/submit/app.py:1:",
        ),
        ("functions/worker/app.py", "import backtest_client\n", "functions/worker/app.py:1:"),
        ("functions/worker/app.py", "import pyarrow.parquet\n", "functions/worker/app.py:1:"),
        # core: anywhere, including TYPE_CHECKING blocks and importlib
        (
            "layers/core/backtest_core/usecases/run_task.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pandas as pd\n",
            "layers/core/backtest_core/usecases/run_task.py:3:",
        ),
        (
            "layers/core/backtest_core/observability.py",
            "import importlib\nimportlib.import_module('aws_xray_sdk.core')\n",
            "layers/core/backtest_core/observability.py:2:",
        ),
        (
            "layers/core/backtest_core/x.py",
            "engine = __import__('backtest_engine')\n",
            "layers/core/backtest_core/x.py:1:",
        ),
        # the shared contract: pydantic and the standard library only
        ("layers/core/backtest_contract/market.py", "import backtest_core\n", "market.py:1:"),
        ("layers/core/backtest_contract/strategies.py", "import numpy\n", "strategies.py:1:"),
        ("layers/core/backtest_contract/x.py", "from aws_lambda_powertools import Logger\n",
         "x.py:1:"),
        # engine: no AWS SDK, no core, except adapter.py
        ("layers/engine/backtest_engine/loading.py", "import boto3\n", "loading.py:1:"),
        ("layers/engine/backtest_engine/readers.py", "from botocore import x\n", "readers.py:1:"),
        ("layers/engine/backtest_engine/runner.py", "import backtest_core\n", "runner.py:1:"),
        ("layers/engine/backtest_engine/adapter.py", "import pyarrow\n", "adapter.py:1:"),
        # adapter.py is exempt only at the package top level
        ("layers/engine/backtest_engine/sub/adapter.py", "import backtest_core\n", "adapter.py:1:"),
    ],
)
def test_given_a_forbidden_import_then_it_is_reported_with_file_and_line(
    tree, relative, source, expected
):
    write(tree, relative, source)
    (message,) = messages(tree)
    assert message.startswith(expected) or expected in message
    assert "must not import" in message


def test_given_relative_imports_and_allowed_exceptions_then_no_violation(tree):
    write(tree, "layers/core/backtest_core/usecases/submit.py", "from ..models import Task\n")
    write(tree, "layers/engine/backtest_engine/adapter.py", "import boto3\nimport backtest_core\n")
    write(tree, "layers/engine/backtest_engine/metrics.py", "import pandas\nimport numpy\n")
    assert messages(tree) == []


def test_given_unparsable_code_then_it_is_reported(tree):
    write(tree, "functions/cancel/app.py", "def broken(:\n")
    (message,) = messages(tree)
    assert message.startswith("functions/cancel/app.py:1: cannot parse")


def test_given_violations_when_run_as_cli_then_exit_1_and_print_file_line(tree, capsys):
    write(tree, "functions/strategies/app.py", "import json\nimport numpy\n")
    assert main(["--root", str(tree)]) == 1
    out = capsys.readouterr().out
    assert "functions/strategies/app.py:2: functions/strategies must not import 'numpy'" in out
    assert "1 violation(s)" in out


def test_given_a_clean_tree_when_run_as_cli_then_exit_0(tree, capsys):
    assert main(["--root", str(tree)]) == 0
    assert "0 violation(s)" in capsys.readouterr().out


def test_given_this_repository_then_it_follows_the_rule():
    assert messages(ROOT) == []
