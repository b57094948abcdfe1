#!/usr/bin/env bash
# Deploy template.yaml to a LocalStack that YOU run (Docker), seed the demo candles, and run
# the end-to-end suite against it. See infra/local/localstack.md. Untested by the authors:
# the machine this was written on has no Docker engine.
#
#   env: LOCALSTACK_ENDPOINT (http://localhost:4566)  STACK_NAME (async-backtest-local)
#        API_URL (skip detection)  SAM_VENV (.venv-sam)  PYTEST_ARGS (extra pytest args)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ENDPOINT="${LOCALSTACK_ENDPOINT:-http://localhost:4566}"
STACK="${STACK_NAME:-async-backtest-local}"
SAM_VENV="${SAM_VENV:-$ROOT/.venv-sam}"
PY="$ROOT/.venv/bin/python"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL="$ENDPOINT"
cd "$ROOT"

fail() { echo "localstack.sh: error: $*" >&2; exit 1; }

# 1. LocalStack must already be running: this script never starts containers.
if ! curl -fsS -m 5 "$ENDPOINT/_localstack/health" >/dev/null 2>&1; then
  fail "no LocalStack answers at $ENDPOINT (GET /_localstack/health failed).
  Start one first, e.g.:
    docker run --rm -p 4566:4566 -v /var/run/docker.sock:/var/run/docker.sock \\
      -e LOCALSTACK_AUTH_TOKEN=\$LOCALSTACK_AUTH_TOKEN localstack/localstack
  (HTTP APIs, apigatewayv2, need a LocalStack plan with API Gateway v2; see localstack.md)"
fi
echo "LocalStack answers at $ENDPOINT"
[ -x "$PY" ] || fail "$PY missing: run 'make install' first"

# 2. SAM CLI + samlocal in their own venv (the SAM CLI pins its own boto3).
if [ ! -x "$SAM_VENV/bin/samlocal" ]; then
  python3 -m venv "$SAM_VENV"
  "$SAM_VENV/bin/pip" install -q aws-sam-cli aws-sam-cli-local
fi

# 3. Build and deploy (Lambda functions in LocalStack need its Docker socket mount).
"$SAM_VENV/bin/samlocal" build
"$SAM_VENV/bin/samlocal" deploy --stack-name "$STACK" --resolve-s3 \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --no-confirm-changeset --no-fail-on-empty-changeset

# 4. Outputs: the bucket to seed, and the API URL (LocalStack serves execute-api hosts on 4566).
read -r API_ID BUCKET < <("$PY" - "$STACK" <<'PYEOF'
import sys, boto3
outputs = {o["OutputKey"]: o["OutputValue"] for o in boto3.client("cloudformation")
           .describe_stacks(StackName=sys.argv[1])["Stacks"][0].get("Outputs", [])}
api_url, bucket = outputs.get("ApiUrl", ""), outputs.get("BucketName", "")
if not api_url or not bucket:
    sys.exit(f"stack outputs ApiUrl/BucketName missing: {outputs}")
print(api_url.split("://", 1)[1].split(".", 1)[0], bucket)
PYEOF
)
PORT="${ENDPOINT##*:}"
export API_URL="${API_URL:-http://$API_ID.execute-api.localhost.localstack.cloud:$PORT}"
echo "API_URL=$API_URL  bucket=$BUCKET"

# 5. Demo candles (synthetic BTC_KRW / ETH_KRW) into the deployed bucket.
"$PY" -m infra.local.demo_data --bucket "$BUCKET"

# 6. The same e2e suite, endpoint-agnostic: it starts nothing when API_URL is set.
curl -fsS -m 10 "$API_URL/api/health" >/dev/null || fail "$API_URL/api/health does not answer"
# shellcheck disable=SC2086
exec "$PY" -m pytest tests/e2e ${PYTEST_ARGS:-}
