#!/usr/bin/env bash
# load-starts.sh: a bounded idempotency load. Against `maestro dev`, it sends
# 1,000 REST starts at 50 concurrent — 500 Idempotency-Keys, each twice with
# the same body — and checks that exactly 500 runs exist and all complete;
# then 500 new keys each sent with one body and again with another, which
# must give 500 × 409 idempotency_conflict.
#
#   scripts/load-starts.sh            # about a minute
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${KEYS:-500}
PAR=${PAR:-50}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT
go build -o "$work/maestro" ./cmd/maestro
tport=$((20000 + RANDOM % 10000))
aport=$((tport + 1))
export TEMPORAL_ADDRESS=127.0.0.1:$tport MAESTRO_LOG_LEVEL=error MAESTRO_API_RATE_LIMIT=0
"$work/maestro" dev --data-dir "$work/data" --temporal-listen "127.0.0.1:$tport" --ui-listen "" \
	--api-listen "127.0.0.1:$aport" > "$work/dev.out" 2> "$work/dev.err" &
for _ in $(seq 150); do grep -q '^ready' "$work/dev.out" 2>/dev/null && break; sleep 0.2; done
api=http://127.0.0.1:$aport
run=$(date +%s)

# start KEY BODYNAME: POSTs a start and prints the HTTP code.
cat > "$work/start.sh" <<SH
#!/bin/sh
curl -s -o /dev/null -w '%{http_code}\n' -X POST "$api/api/workflows" -H "Idempotency-Key: \$1" \
	-H 'Content-Type: application/json' \
	-d "{\"dag\": {\"name\": \"load\", \"mode\": \"dag_parallel\", \"nodes\": [{\"id\": \"a\", \"executor\": {\"kind\": \"noop\", \"output\": \"\$2\"}}]}}"
SH
chmod +x "$work/start.sh"

start=$(date +%s.%N)
for i in $(seq "$KEYS"); do echo "same-$run-$i same"; echo "same-$run-$i same"; done | shuf |
	xargs -P "$PAR" -n 2 "$work/start.sh" | sort | uniq -c > "$work/codes1"
took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')
echo "same body twice: $(tr -s ' \n' ' ' < "$work/codes1")(HTTP code counts) in ${took}s"

# Every key's run, by its ID: exactly one run per key, and each completes.
ids=$(for i in $(seq "$KEYS"); do echo "maestro-key-same-$run-$i"; done)
completed=0
for _ in $(seq 60); do
	completed=0
	for id in $ids; do
		st=$(curl -s "$api/api/workflows/$id" | sed -n 's/.*"status":"\([a-z_]*\)".*/\1/p' | head -1)
		[ "$st" = completed ] && completed=$((completed + 1))
	done
	[ "$completed" -eq "$KEYS" ] && break
	sleep 2
done
echo "runs completed: $completed/$KEYS"
started=$(awk '$2 == 201 {print $1}' "$work/codes1")
echo "runs started (201): ${started:-0}; replays (200): $(awk '$2 == 200 {print $1}' "$work/codes1")"

for i in $(seq "$KEYS"); do echo "diff-$run-$i first"; done |
	xargs -P "$PAR" -n 2 "$work/start.sh" > /dev/null
for i in $(seq "$KEYS"); do echo "diff-$run-$i second"; done |
	xargs -P "$PAR" -n 2 "$work/start.sh" | sort | uniq -c > "$work/codes2"
echo "same key, another body: $(tr -s ' \n' ' ' < "$work/codes2")(HTTP code counts)"
