"""Canaries for every moto internal the local harness patches or subclasses.

moto is pinned to a minor version (pyproject.toml); these fail loudly, naming the patch,
when an upgrade moves or changes what a patch relies on, instead of the stack slowing
down or misbehaving silently:

- ``moto_process.speed_up_moto``: ``moto.backends.list_of_moto_modules`` (looked up as a
  module attribute by the server's dispatcher) and
  ``SQSBackend.is_message_valid_based_on_retention_period`` (same answers as moto's own);
- ``moto_process.make_server``: ``MotoRequestHandler`` (werkzeug's ``run_wsgi`` and
  ``make_environ``), ``DomainDispatcherApplication``, ``create_backend_app``;
- ``moto_lock.install_dynamodb_lock``: the public methods of ``DynamoDBBackend`` that the
  service calls, wrapped by the lock.
"""

from __future__ import annotations

import inspect
import time
from importlib.metadata import version


def test_given_the_installed_moto_then_it_is_the_pinned_minor_version() -> None:
    major_minor = version("moto").split(".")[:2]
    assert major_minor == ["5", "2"], "re-check every canary, then re-pin pyproject.toml"


def test_given_speed_up_moto_then_the_dispatcher_still_looks_modules_up_on_the_module() -> None:
    from moto import backends
    from moto.moto_server import werkzeug_app

    assert callable(backends.list_of_moto_modules)
    assert {"sqs", "dynamodb", "s3"} <= set(backends.list_of_moto_modules())
    source = inspect.getsource(werkzeug_app.DomainDispatcherApplication)
    assert "backends.list_of_moto_modules()" in source  # so the module-level patch applies


def test_given_the_retention_patch_then_it_answers_like_motos_own_check() -> None:
    import boto3
    from moto import mock_aws
    from moto.sqs.models import SQSBackend, sqs_backends

    original = SQSBackend.is_message_valid_based_on_retention_period
    assert list(inspect.signature(original).parameters) == ["self", "queue_name", "message"]
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="canary",
                               Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="x")
        backend = sqs_backends["123456789012"]["us-east-1"]
        message = backend.get_queue("canary")._messages[0]
        from infra.local import moto_process

        try:
            moto_process.speed_up_moto()
            patched = SQSBackend.is_message_valid_based_on_retention_period
            assert patched is not original
            for sent_ago_ms in (0, 59_000, 61_000):
                message.sent_timestamp = int(time.time() * 1000) - sent_ago_ms
                assert patched(backend, "canary", message) == original(
                    backend, "canary", message), sent_ago_ms
        finally:
            SQSBackend.is_message_valid_based_on_retention_period = original


def test_given_make_server_then_werkzeugs_handler_hooks_it_overrides_exist() -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

    assert issubclass(MotoRequestHandler, WSGIRequestHandler)
    for hook in ("run_wsgi", "make_environ", "log_request"):
        assert callable(getattr(MotoRequestHandler, hook)), hook
    assert callable(create_backend_app)
    assert list(inspect.signature(DomainDispatcherApplication).parameters)[0] == "create_app"
    assert "handler" in inspect.signature(ThreadedWSGIServer).parameters


def test_given_the_dynamodb_lock_then_the_methods_the_service_calls_are_wrapped() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    from infra.local.moto_lock import install_dynamodb_lock

    install_dynamodb_lock()
    for name in ("put_item", "update_item", "get_item", "query", "scan", "delete_item",
                 "transact_write_items", "batch_write_item"):
        method = getattr(DynamoDBBackend, name, None)
        assert method is not None, f"DynamoDBBackend.{name} is gone: re-check moto_lock"
        assert hasattr(method, "__wrapped__"), f"DynamoDBBackend.{name} is not locked"
