"""Lambda-shaped SQS events and ReportBatchItemFailures semantics of the local dispatcher."""

from __future__ import annotations

from infra.local.dispatcher import failed_ids, sqs_record

IDS = ["m1", "m2", "m3"]


def test_given_no_failures_when_parsed_then_all_succeed() -> None:
    assert failed_ids(None, IDS) == set()
    assert failed_ids({"batchItemFailures": []}, IDS) == set()
    assert failed_ids({}, IDS) == set()


def test_given_listed_failures_when_parsed_then_only_those_retry() -> None:
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}, IDS) == {"m2"}


def test_given_unknown_or_empty_identifier_when_parsed_then_whole_batch_fails() -> None:
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "zz"}]}, IDS) == set(IDS)
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, IDS) == set(IDS)
    assert failed_ids({"batchItemFailures": [{}]}, IDS) == set(IDS)


def test_given_received_message_when_converted_then_lambda_record_shape() -> None:
    message = {
        "MessageId": "m1", "ReceiptHandle": "rh", "Body": "{}", "MD5OfBody": "md5",
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1"},
        "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"},
                              "b": {"DataType": "Binary", "BinaryValue": b"\x01"}},
    }

    record = sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")

    assert record == {
        "messageId": "m1", "receiptHandle": "rh", "body": "{}",
        "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1"},
        "messageAttributes": {
            "k": {"stringValue": "v", "stringListValues": [], "binaryListValues": [],
                  "dataType": "String"},
            "b": {"binaryValue": "AQ==", "stringListValues": [], "binaryListValues": [],
                  "dataType": "Binary"},
        },
        "md5OfBody": "md5", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1",
    }
