#!/usr/bin/env bash
# Submit a backtest with curl, poll its status every second, print the total signals.
#
#   API_URL=http://localhost:8000 examples/curl_poll.sh
#
# Needs only curl and jq. Output: "task_id: ID", one progress line per poll,
# then the total number of signals alone on the last line.
# Exit codes: 0 completed; 1 failed or cancelled; 2 still running after MAX_POLLS polls.
set -euo pipefail

API_URL="${API_URL:-http://localhost:8000}"
MAX_POLLS="${MAX_POLLS:-300}"     # one poll per second: at most ~5 minutes

body='{
  "strategy": "volume_zone_breakout",
  "params": {},
  "symbols": ["BTC_KRW", "ETH_KRW"],
  "start_date": "2024-01-01",
  "end_date": "2024-12-31",
  "timeframe": "1d"
}'

# 1. Submit: 200 {"task_id", "status": "queued", "created_at"} (errors: {"detail": ...}).
task_id=$(curl -sS --fail-with-body -X POST "$API_URL/api/backtests/run-async" \
  -H 'Content-Type: application/json' -d "$body" | jq -r '.task_id')
echo "task_id: $task_id"

# 2. Poll until the status is terminal (completed | failed | cancelled).
for ((poll = 1; poll <= MAX_POLLS; poll++)); do
  doc=$(curl -sS --fail-with-body "$API_URL/api/backtests/status/$task_id")
  status=$(jq -r '.status' <<<"$doc")
  jq -r '"\(.status) \(.stage // "-") \((.progress // 0) * 100 | floor)%"' <<<"$doc"
  case "$status" in
    completed) break ;;
    failed | cancelled)
      echo "task $task_id $status: $(jq -r '.error' <<<"$doc")" >&2
      exit 1 ;;
  esac
  sleep 1
done

if [[ "$status" != "completed" ]]; then
  echo "task $task_id still $status after $MAX_POLLS polls" >&2
  exit 2
fi

# 3. The status of a completed task inlines the result summary.
jq -r '.result.total_signals' <<<"$doc"
