"""Create the template's tables, queues (dead-letter queues first) and buckets in an emulator.

Works against any boto3 endpoint: the moto server of the local stack, or moto in-process
(``mock_aws``) in unit tests. Idempotent: existing resources are left as they are.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

from infra.local.naming import ACCOUNT_ID
from infra.local.template_model import QueueSpec, TableSpec, TemplateModel

log = logging.getLogger("local.bootstrap")


def create_resources(
    model: TemplateModel,
    clients: dict[str, Any],
    visibility_timeout_override_s: int | None = None,
) -> dict[str, str]:
    """Create every resource; return ``{queue logical id: queue URL}`` as the emulator reports it.

    ``clients`` holds boto3 clients under ``dynamodb``, ``sqs`` and ``s3``.
    ``visibility_timeout_override_s`` replaces every queue's VisibilityTimeout (local runs:
    the template's hours-long timeout would make redelivery untestable).
    """
    for table in model.tables:
        _create_table(clients["dynamodb"], table)
    urls: dict[str, str] = {}
    for queue in _dead_letter_first(model.queues):
        urls[queue.logical_id] = _create_queue(
            clients["sqs"], queue, model, urls, visibility_timeout_override_s
        )
    for bucket in model.buckets:
        try:
            clients["s3"].create_bucket(Bucket=bucket.name)
        except clients["s3"].exceptions.BucketAlreadyOwnedByYou:
            pass
    if "stepfunctions" in clients:
        create_state_machines(model, clients["stepfunctions"])
    return urls


def create_state_machines(model: TemplateModel, sfn: Any) -> None:
    """The template's state machines, under their local names (skipped when present)."""
    existing = {m["name"] for m in sfn.list_state_machines()["stateMachines"]}
    for machine in model.state_machines:
        if machine.name in existing:
            continue
        arn = sfn.create_state_machine(
            name=machine.name, definition=machine.definition, type="STANDARD",
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{machine.name}")["stateMachineArn"]
        if arn != machine.arn:
            raise RuntimeError(f"{machine.logical_id}: moto says {arn}, the model {machine.arn}")


def enable_state_machine_execution(endpoint_url: str) -> None:
    """moto (server mode) runs state machines only when told so through its config API."""
    body = json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
    request = urllib.request.Request(f"{endpoint_url}/moto-api/config", data=body,
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local moto
        response.read()


def _create_table(ddb: Any, table: TableSpec) -> None:
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "KeySchema": table.key_schema,
        "AttributeDefinitions": table.attribute_definitions,
        "BillingMode": table.billing_mode,
    }
    if table.billing_mode == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    if table.stream_view_type:  # read by infra/local/streams.py
        kwargs["StreamSpecification"] = {"StreamEnabled": True,
                                         "StreamViewType": table.stream_view_type}
    if table.global_secondary_indexes:
        kwargs["GlobalSecondaryIndexes"] = [
            {k: v for k, v in gsi.items() if k != "ContributorInsightsSpecification"}
            for gsi in table.global_secondary_indexes
        ]
    try:
        ddb.create_table(**kwargs)
    except ddb.exceptions.ResourceInUseException:
        return
    if table.ttl_attribute:
        ddb.update_time_to_live(
            TableName=table.name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )


def _dead_letter_first(queues: list[QueueSpec]) -> list[QueueSpec]:
    return sorted(queues, key=lambda q: q.redrive_target is not None)


def _create_queue(
    sqs: Any,
    queue: QueueSpec,
    model: TemplateModel,
    urls: dict[str, str],
    visibility_override_s: int | None,
) -> str:
    visibility = queue.visibility_timeout_s
    if visibility_override_s is not None:
        log.warning(
            "queue %s: VisibilityTimeout %ss overridden to %ss (LOCAL_VISIBILITY_TIMEOUT)",
            queue.logical_id, visibility, visibility_override_s,
        )
        visibility = visibility_override_s
    attrs = {"VisibilityTimeout": str(visibility)}
    if queue.retention_s is not None:
        attrs["MessageRetentionPeriod"] = str(queue.retention_s)
    if queue.fifo:
        attrs["FifoQueue"] = "true"
    if queue.redrive_target:
        target_url = urls[queue.redrive_target]
        target_arn = sqs.get_queue_attributes(QueueUrl=target_url, AttributeNames=["QueueArn"])
        attrs["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": target_arn["Attributes"]["QueueArn"],
                "maxReceiveCount": queue.max_receive_count,
            }
        )
    return str(sqs.create_queue(QueueName=queue.name, Attributes=attrs)["QueueUrl"])
