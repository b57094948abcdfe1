"""infra/console_deploy.py against moto: every console file, with types, the editor's
examples and a config.js."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from infra.console_deploy import upload
from infra.local.console import CONSOLE_DIR, EXAMPLES_DIR


def test_given_a_bucket_then_the_console_and_its_config_are_uploaded(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="console-bucket")
        keys = upload(s3, "console-bucket", "https://api.example.com", "wss://ws.example.com/live")
        files = {f"console/{p.relative_to(CONSOLE_DIR).as_posix()}"
                 for p in CONSOLE_DIR.rglob("*") if p.is_file()}
        assert set(keys) == files | {"console/config.js", "console/examples/strategies.json"}
        assert "console/vendor/uplot/LICENSE" in keys
        index = s3.get_object(Bucket="console-bucket", Key="console/index.html")
        assert index["ContentType"].startswith("text/html")
        config = s3.get_object(Bucket="console-bucket", Key="console/config.js")["Body"].read().decode()
        assert '"apiUrl": "https://api.example.com"' in config
        assert '"wsUrl": "wss://ws.example.com/live"' in config
        examples = json.loads(s3.get_object(Bucket="console-bucket",
                                            Key="console/examples/strategies.json")["Body"].read())
        on_disk = sorted(p.name for p in EXAMPLES_DIR.glob("*.json"))
        assert [e["file"] for e in examples["items"]] == on_disk and on_disk
        assert examples["items"][0]["document"] == json.loads((EXAMPLES_DIR / on_disk[0]).read_text())
