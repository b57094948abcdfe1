"""Repeated poller errors are logged once per interval with a count (infra/local/errorlog.py)."""

from __future__ import annotations

import logging

import pytest

from infra.local.errorlog import RepeatedErrors


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "test.errorlog"]


def test_given_an_error_every_100_ms_for_25_s_when_logged_then_three_lines_with_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    errors = RepeatedErrors(logging.getLogger("test.errorlog"), interval_s=10.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.errorlog"):
        for tick in range(250):
            clock.now = tick * 0.1
            errors.failed("sqs receive from JobsQueue", ConnectionError("refused\n  twice"))
        lines = _lines(caplog)
        assert len(lines) == 3, lines
        assert lines[0] == ("sqs receive from JobsQueue failed: refused twice (repeats logged"
                            " once per 10 s)")
        assert lines[1].startswith("sqs receive from JobsQueue failed 100 more time(s) in the"
                                   " last 10 s")
        assert "sqs receive from JobsQueue" in errors.failing()
        clock.now = 30.0
        errors.ok("sqs receive from JobsQueue")
        errors.ok("sqs receive from JobsQueue")
    lines = _lines(caplog)
    assert len(lines) == 4, lines
    assert lines[3] == "sqs receive from JobsQueue works again after 250 failure(s) in 30 s"
    assert errors.failing() == {}


def test_given_two_keys_when_one_recovers_then_only_the_other_is_failing() -> None:
    errors = RepeatedErrors(logging.getLogger("test.errorlog"), clock=Clock())
    errors.failed("a", "boom")
    errors.failed("b", "bang")
    errors.ok("a")
    assert list(errors.failing()) == ["b"]
    assert errors.failing()["b"].endswith("bang")
