"""Starting the Fargate container that runs one claimed attempt (usecases/long_run.py).

A ``Launcher`` starts ``infra/fargate/entry.py`` with ``TASK_ID`` and ``ATTEMPT``; the
container adopts that attempt (it does not claim again). ``EcsLauncher`` is the AWS one;
the local stack injects a subprocess stand-in (infra/local/fargate.py).
"""

from __future__ import annotations

from typing import Any, Protocol

from backtest_core.settings import Settings


class LaunchFailed(RuntimeError):
    """ECS accepted the call but started no task (capacity, bad network config, ...).

    Transient (``faults.is_transient``): RunTask reports a capacity shortage
    (``RESOURCE:MEMORY``, ``RESOURCE:ENI``) here rather than as a throttling error."""

    transient = True


class Launcher(Protocol):
    def launch(self, task_id: str, attempt: int) -> str:
        """Start the container for ``attempt`` of ``task_id``; returns its id (an ECS task
        ARN). Raises on failure (the caller releases the lease and retries)."""
        ...


class EcsLauncher:
    """``ecs:RunTask`` of the runner task definition on Fargate, private networking."""

    def __init__(self, ecs: Any, settings: Settings):
        if not settings.fargate_cluster or not settings.fargate_task_definition:
            raise ValueError("FARGATE_CLUSTER and FARGATE_TASK_DEFINITION are required")
        self._ecs = ecs
        self._settings = settings

    def launch(self, task_id: str, attempt: int) -> str:
        cfg = self._settings
        resp = self._ecs.run_task(
            cluster=cfg.fargate_cluster,
            taskDefinition=cfg.fargate_task_definition,
            launchType="FARGATE",
            count=1,
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": cfg.fargate_subnets,
                "securityGroups": cfg.fargate_security_groups,
                "assignPublicIp": "DISABLED",  # private subnets reach AWS via NAT/endpoints
            }},
            overrides={"containerOverrides": [{
                "name": cfg.fargate_container,
                "environment": [{"name": "TASK_ID", "value": task_id},
                                {"name": "ATTEMPT", "value": str(attempt)}],
            }]},
        )
        # RunTask reports capacity and configuration problems in ``failures``, not as errors.
        if resp.get("failures") or not resp.get("tasks"):
            reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}".strip()
                                for f in resp.get("failures") or []) or "no task started"
            raise LaunchFailed(f"ecs:RunTask failed: {reasons}")
        return str(resp["tasks"][0]["taskArn"])
