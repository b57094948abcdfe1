"""Each sandbox gets its own function's environment, as Lambda gives each function."""

from __future__ import annotations

from pathlib import Path

from infra.local.sandbox import sandbox_env
from infra.local.template_model import FunctionSpec


def _spec(logical_id: str, env: dict[str, str]) -> FunctionSpec:
    return FunctionSpec(logical_id, f"stack-{logical_id}", Path("."), "app.lambda_handler", env,
                        3, 128)


def test_given_two_functions_when_their_sandbox_env_is_built_then_neither_sees_the_other() -> None:
    worker = _spec("WorkerFunction", {"TASKS_TABLE": "t", "FARGATE_MIN_CANDLES": "5"})
    submit = _spec("SubmitFunction", {"TASKS_TABLE": "t", "POWERTOOLS_SERVICE_NAME": "api"})
    shared = {"TASKS_TABLE": "t", "FARGATE_MIN_CANDLES": "5", "POWERTOOLS_SERVICE_NAME": "api",
              "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_REGION": "us-east-1",
              "AWS_ACCESS_KEY_ID": "testing"}
    stack_env = {**shared, "PATH": "/bin", "HOME": "/root"}  # what the stack process holds

    env = sandbox_env(submit, shared, base=stack_env)
    worker_env = sandbox_env(worker, shared, base=stack_env,
                             init_hook="infra.local.fargate:install_stand_in")

    assert "FARGATE_MIN_CANDLES" not in env and env["POWERTOOLS_SERVICE_NAME"] == "api"
    assert "POWERTOOLS_SERVICE_NAME" not in worker_env and worker_env["FARGATE_MIN_CANDLES"] == "5"
    for e in (env, worker_env):
        assert e["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1" and e["PATH"] == "/bin"
        assert e["AWS_ACCESS_KEY_ID"] == "testing"
    assert "LOCAL_SANDBOX_INIT" not in env
    assert worker_env["LOCAL_SANDBOX_INIT"] == "infra.local.fargate:install_stand_in"
