"""``python -m infra.console_deploy --stack NAME`` (``make console-deploy``): upload console/.

Reads the stack's outputs (BucketName, ApiUrl, WebSocketUrl, ConsoleUrl), writes every file
of console/ to ``s3://BUCKET/console/`` with its content type, plus the generated
``examples/strategies.json`` (the editor's examples) and ``config.js`` that points the console at the API and the WebSocket API. CloudFront serves
them (origin access control; the bucket stays private). ``--bucket/--api-url/--ws-url``
instead of ``--stack`` skip CloudFormation (any S3 endpoint, e.g. moto or LocalStack).
"""

from __future__ import annotations

import argparse
import mimetypes
from pathlib import Path
from typing import Any

from infra.local.console import CONSOLE_DIR, EXAMPLES_PATH, config_js, strategy_examples_json

PREFIX = "console/"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8"}


def upload(s3: Any, bucket: str, api_url: str, ws_url: str, root: Path = CONSOLE_DIR) -> list[str]:
    """Put the console, its examples and its config.js; returns the keys written."""
    keys = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = PREFIX + path.relative_to(root).as_posix()
        kind = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(),
                      ContentType=kind or "application/octet-stream")
        keys.append(key)
    s3.put_object(Bucket=bucket, Key=PREFIX + EXAMPLES_PATH, Body=strategy_examples_json().encode(),
                  ContentType="application/json")
    s3.put_object(Bucket=bucket, Key=PREFIX + "config.js", Body=config_js(api_url, ws_url).encode(),
                  ContentType=_TYPES[".js"], CacheControl="no-cache")
    return [*keys, PREFIX + EXAMPLES_PATH, PREFIX + "config.js"]


def stack_outputs(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", help="CloudFormation stack name (reads its outputs)")
    parser.add_argument("--bucket")
    parser.add_argument("--api-url")
    parser.add_argument("--ws-url")
    args = parser.parse_args(argv)
    if args.stack:
        outputs = stack_outputs(boto3.client("cloudformation"), args.stack)
        bucket, api, ws = outputs["BucketName"], outputs["ApiUrl"], outputs["WebSocketUrl"]
        console_url = outputs.get("ConsoleUrl", "")
    elif args.bucket and args.api_url:
        bucket, api, ws, console_url = args.bucket, args.api_url, args.ws_url or "", ""
    else:
        parser.error("give --stack, or --bucket and --api-url")
    keys = upload(boto3.client("s3"), bucket, api, ws)
    print(f"uploaded {len(keys)} files to s3://{bucket}/{PREFIX}"
          + (f"; open {console_url}" if console_url else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
