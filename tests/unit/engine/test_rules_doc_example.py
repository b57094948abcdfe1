"""The worked example of docs/rules.md is what the command it shows prints: the command
line is read from the page, run through the engine's CLI, and its output must equal the
page's output block (the run time aside)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from backtest_engine.cli import main

REPO = Path(__file__).resolve().parents[3]
PAGE = REPO / "docs" / "rules.md"
_TIME = re.compile(r"time=\d+\.\d+s")


def _worked_example() -> tuple[list[str], list[str]]:
    """(command arguments, expected output lines) of the page's "A worked example"."""
    section = PAGE.read_text().split("## A worked example", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w*)\n(.*?)```", section, flags=re.S)
    command = next(body for lang, body in blocks if lang == "bash").strip()
    output = next(body for lang, body in blocks if lang == "")
    args = shlex.split(command)
    assert args[0] == "backtest", command
    return args[1:], output.rstrip("\n").splitlines()


def test_given_the_worked_example_of_the_rules_page_when_run_then_it_prints_the_page_output(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    args, expected = _worked_example()
    monkeypatch.chdir(REPO)  # the page's paths are relative to the repository

    assert main(args) == 0
    printed = capsys.readouterr().out.rstrip("\n").splitlines()

    assert [_TIME.sub("time=…", line) for line in printed] == [
        _TIME.sub("time=…", line) for line in expected]
    assert any("stop_loss" in line for line in expected)  # the page shows the stop at work
