"""infra/local/streams.py: moto's DynamoDB stream → a function, Lambda's retry semantics."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import boto3
import pytest
from moto import mock_aws

from infra.local.streams import StreamPoller, StreamSource
from infra.local.template_model import StreamSourceSpec


@dataclass
class Spec:
    logical_id: str = "PushFunction"


@dataclass
class RecordingFunction:
    """Fails the record whose key is in ``fail_once`` the first time it sees it."""

    fail_once: set[str] = field(default_factory=set)
    batches: list[list[tuple[str, str]]] = field(default_factory=list)
    spec: Spec = field(default_factory=Spec)
    seen: threading.Event = field(default_factory=threading.Event)

    def invoke(self, event: dict) -> dict:
        batch = [(r["eventName"], r["dynamodb"]["Keys"]["k"]["S"]) for r in event["Records"]]
        assert all(":table/t/stream/" in r["eventSourceARN"]
                   and isinstance(r["dynamodb"]["ApproximateCreationDateTime"], float)
                   for r in event["Records"])  # as Lambda delivers it
        self.batches.append(batch)
        self.seen.set()
        failed = [r for r in event["Records"] if r["dynamodb"]["Keys"]["k"]["S"] in self.fail_once]
        self.fail_once -= {r["dynamodb"]["Keys"]["k"]["S"] for r in failed}
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
                                      for r in failed[:1]]}


@pytest.fixture
def table(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                       "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         StreamSpecification={"StreamEnabled": True,
                                              "StreamViewType": "NEW_IMAGE"})
        yield ddb


def run_poller(fn: RecordingFunction, spec: StreamSourceSpec, writes) -> StreamPoller:
    poller = StreamPoller([StreamSource(fn, spec, "t")],
                          lambda service: boto3.client(service, region_name="us-east-1"))
    poller.start()
    writes()
    return poller


def wait_for(predicate, deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)  # poll pacing of a deadline loop


def test_given_a_failed_record_then_the_batch_is_retried_from_it(table):
    fn = RecordingFunction(fail_once={"b"})
    spec = StreamSourceSpec("T", batch_size=10, report_batch_item_failures=True, max_retries=3)

    def writes():
        for key in ("a", "b", "c"):
            table.put_item(TableName="t", Item={"k": {"S": key}})

    poller = run_poller(fn, spec, writes)
    flat = lambda: [key for batch in fn.batches for _, key in batch]  # noqa: E731
    try:  # moto may hand the three records over in one, two or three batches
        wait_for(lambda: flat().count("b") >= 2 and "c" in flat()[flat().index("b") + 1:])
    finally:
        poller.stop()
    failing = next(i for i, batch in enumerate(fn.batches) if ("INSERT", "b") in batch)
    from_b = fn.batches[failing][[k for _, k in fn.batches[failing]].index("b"):]
    assert fn.batches[failing + 1] == from_b  # retried from the failed record, with what follows
    assert flat().count("a") == 1  # records before the failed one are not delivered again
    assert sorted(set(flat())) == ["a", "b", "c"] and flat().count("b") == 2


def test_given_an_event_name_filter_then_only_those_records_arrive(table):
    fn = RecordingFunction()
    spec = StreamSourceSpec("T", batch_size=10, report_batch_item_failures=True, max_retries=3,
                            event_names=("INSERT",))

    def writes():
        table.put_item(TableName="t", Item={"k": {"S": "a"}})
        table.update_item(TableName="t", Key={"k": {"S": "a"}}, UpdateExpression="SET v = :v",
                          ExpressionAttributeValues={":v": {"N": "1"}})
        table.put_item(TableName="t", Item={"k": {"S": "z"}})

    poller = run_poller(fn, spec, writes)
    try:
        wait_for(lambda: any(k == "z" for b in fn.batches for _, k in b))
    finally:
        poller.stop()
    assert [e for b in fn.batches for e in b] == [("INSERT", "a"), ("INSERT", "z")]


def test_given_retries_used_up_then_the_records_are_skipped(table):
    class AlwaysFails(RecordingFunction):
        def invoke(self, event: dict) -> dict:
            super().invoke(event)
            return {"batchItemFailures": [
                {"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}]}

    fn = AlwaysFails()
    spec = StreamSourceSpec("T", batch_size=10, report_batch_item_failures=True, max_retries=1)

    def writes():
        table.put_item(TableName="t", Item={"k": {"S": "a"}})

    poller = run_poller(fn, spec, writes)
    try:
        wait_for(lambda: len(fn.batches) >= 2)
        table.put_item(TableName="t", Item={"k": {"S": "next"}})
        wait_for(lambda: any(k == "next" for b in fn.batches for _, k in b))
    finally:
        poller.stop()
    assert fn.batches == [[("INSERT", "a")], [("INSERT", "a")], [("INSERT", "next")]]
