#!/usr/bin/env bash
# deploy/opscheck/run.sh: runs every procedure of docs/OPERATIONS.md against a
# real Temporal server with runs in flight, and fails unless each has the
# outcome the guide promises. The guide's commands are this script's own.
#
#   bash deploy/opscheck/run.sh        # about 2 minutes once Go's build cache is warm
#
# The stack is the production shape on one machine: `maestro dev` serves only
# Temporal (its own worker polls another queue, its API is off); one `maestro
# worker` and one `maestro api` on task queue "ops", as systemd or compose
# would run them. Procedures, numbered as the guide's sections:
#   1. health check: maestro doctor, GET /health, maestro version, metrics
#   3. graceful restart: SIGTERM to a worker running 5 command nodes → 0 failed
#   4. emergency restart: SIGKILL to a worker running nodes → every run completes
#   7. Temporal down: doctor and /health say so; after a restart runs go on
#   8. a wrong run: rewind a completed run to a node → it completes again,
#      the answer lists the nodes that run again
#   9. a runaway run: cancel; terminate one that does not react (< 2 s)
# (Section 5, deploying new workflow code, is the Go test
# TestDeployNewWorkflowCodeWithRunsInFlight in workflows/.)
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "${OPSCHECK_KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
step() { echo; echo "== $*"; }
fail() {
	echo "FAIL: $*" >&2
	for f in "$work"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done
	exit 1
}
# wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds.
wait_for() {
	local n=$(($1 * 5))
	shift
	for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
	return 1
}

step "build"
go build -o "$work/maestro" ./cmd/maestro
# maestro runs the binary just built (background processes exec it directly,
# so that signals reach it).
maestro() { "$work/maestro" "$@"; }
port=$((20000 + RANDOM % 10000))
api_port=$((port + 1))
metrics_port=$((port + 2))
export TEMPORAL_ADDRESS=127.0.0.1:$port MAESTRO_TASK_QUEUE=ops MAESTRO_LOG_LEVEL=warn
export MAESTRO_DATA_DIR=$work/data MAESTRO_WORKSPACE_DIR=$work/workspaces MAESTRO_ARTIFACT_DIR=$work/artifacts
export MAESTRO_POLICY_KINDS=command,noop,approval MAESTRO_POLICY_COMMANDS=sleep
API=http://127.0.0.1:$api_port

start_temporal() {
	if [ -f "$work/dev.log" ]; then mv "$work/dev.log" "$work/dev-before.log"; fi
	"$work/maestro" dev --data-dir "$work/dev" --temporal-listen "127.0.0.1:$port" --ui-listen "" --api-listen "" \
		--task-queue dev-only >> "$work/dev.log" 2>&1 &
	temporal_pid=$!
	pids+=("$temporal_pid")
	wait_for 60 grep -q '^ready' "$work/dev.log" || fail "maestro dev did not get ready"
}
start_worker() {
	MAESTRO_WORKER_STOP_TIMEOUT=20s MAESTRO_METRICS_ADDR=127.0.0.1:$metrics_port \
		"$work/maestro" worker >> "$work/worker.log" 2>&1 &
	worker_pid=$!
	pids+=("$worker_pid")
}
# state ID: the run's state.
state() { maestro status "$1" --json | sed -n 's/^  "status": "\([a-z_]*\)",$/\1/p' | head -1; }
is_state() { [ "$(state "$1")" = "$2" ]; }
# failed_nodes ID: how many of the run's nodes failed.
failed_nodes() { maestro status "$1" --json | sed -n 's/^    "failed": \([0-9]*\),*$/\1/p' | head -1; }
pipeline() { # pipeline FILE SECONDS: one command node that sleeps, then a noop
	cat > "$1" <<YAML
name: ops
mode: dag_parallel
nodes:
  - {id: work, executor: {kind: command, argv: ["sleep", "$2"]}, heartbeat_timeout: 5s}
  - {id: after, depends_on: [work], executor: {kind: noop}}
YAML
}

start_temporal
start_worker
MAESTRO_API_ADDR=127.0.0.1:$api_port "$work/maestro" api >> "$work/api.log" 2>&1 &
pids+=("$!")
wait_for 30 curl -fsS "$API/health" || fail "the API did not answer"

step "1. health check"
wait_for 30 maestro doctor || fail "maestro doctor failed: $(maestro doctor 2>&1)"
maestro doctor
health=$(curl -fsS "$API/health")
echo "$health" | grep -q '"status":"healthy"' || fail "/health: $health"
maestro version
curl -fsS "http://127.0.0.1:$metrics_port/metrics" > "$work/metrics.txt"
grep -E '^(process_resident_memory_bytes|go_goroutines) ' "$work/metrics.txt" || fail "no memory metrics"

step "3. graceful restart with 5 runs in flight"
pipeline "$work/slow.yaml" 4
ids=()
for i in 1 2 3 4 5; do
	ids+=("graceful-$i-$RANDOM")
	maestro start --file "$work/slow.yaml" --id "${ids[-1]}" > /dev/null
done
sleep 2 # the nodes are running
began=$(date +%s.%N)
kill -TERM "$worker_pid"
wait "$worker_pid" || true
echo "worker stopped $(awk -v s="$began" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') s after SIGTERM"
start_worker
for id in "${ids[@]}"; do
	wait_for 60 is_state "$id" completed || fail "$id: $(state "$id")"
	[ "$(failed_nodes "$id")" = 0 ] || fail "$id has failed nodes"
done
echo "5/5 runs completed, 0 failed nodes"

step "4. emergency restart (SIGKILL) with runs in flight"
ids=()
for i in 1 2 3; do
	ids+=("emergency-$i-$RANDOM")
	maestro start --file "$work/slow.yaml" --id "${ids[-1]}" > /dev/null
done
sleep 2
kill -KILL "$worker_pid"
began=$(date +%s.%N)
start_worker
for id in "${ids[@]}"; do
	wait_for 90 is_state "$id" completed || fail "$id: $(state "$id")"
done
echo "3/3 runs completed $(awk -v s="$began" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') s after the kill"

step "7. Temporal down, then back"
pipeline "$work/long.yaml" 8
outage="outage-$RANDOM"
maestro start --file "$work/long.yaml" --id "$outage" > /dev/null
kill -TERM "$temporal_pid"
wait "$temporal_pid" || true
if maestro doctor --timeout 2s > "$work/doctor-down.txt" 2>&1; then fail "doctor passed with Temporal down"; fi
grep -i "temporal" "$work/doctor-down.txt" | head -3
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/health")
[ "$code" = 503 ] || fail "/health answered $code with Temporal down"
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/api/workflows/$outage")
[ "$code" = 503 ] || fail "GET /api/workflows/<id> answered $code with Temporal down"
echo "/health and run requests: 503 while Temporal is down"
start_temporal
wait_for 60 maestro doctor || fail "doctor after the restart: $(maestro doctor 2>&1)"
echo "doctor ok again"
maestro list --status active | tee "$work/active.txt"
grep -q "$outage" "$work/active.txt" || fail "the run started before the outage is not listed as active"
timeout 120 "$work/maestro" status "$outage" --watch > "$work/watch.txt" || true
is_state "$outage" completed || fail "the run started before the outage: $(state "$outage")"
tail -3 "$work/watch.txt"

step "8. rewind a completed run to a node"
cat > "$work/chain.yaml" <<'YAML'
name: chain
mode: dag_parallel
nodes:
  - {id: plan, executor: {kind: noop}}
  - {id: build, depends_on: [plan], executor: {kind: noop}}
  - {id: check, depends_on: [build], executor: {kind: noop}}
YAML
chain="chain-$RANDOM"
maestro start --file "$work/chain.yaml" --id "$chain" --wait > /dev/null
maestro rewind "$chain" --to build | tee "$work/rewind.txt"
grep -q check "$work/rewind.txt" || fail "rewind does not say that check runs again"
wait_for 60 is_state "$chain" completed || fail "rewound run: $(state "$chain")"
echo "the rewound run completed"

step "9. a runaway run: cancel, terminate"
pipeline "$work/runaway.yaml" 300
cancelled="cancel-$RANDOM"
maestro start --file "$work/runaway.yaml" --id "$cancelled" > /dev/null
wait_for 30 is_state "$cancelled" running
maestro cancel "$cancelled" --wait > /dev/null || true
is_state "$cancelled" cancelled || fail "cancel: $(state "$cancelled")"
echo "cancelled: $cancelled"
runaway="runaway-$RANDOM"
maestro start --file "$work/runaway.yaml" --id "$runaway" > /dev/null
wait_for 30 is_state "$runaway" running
began=$(date +%s.%N)
maestro terminate "$runaway" --reason "runaway: ignores cancel"
wait_for 10 is_state "$runaway" terminated || fail "terminate: $(state "$runaway")"
took=$(awk -v s="$began" -v e="$(date +%s.%N)" 'BEGIN {printf "%.2f", e - s}')
awk -v t="$took" 'BEGIN {exit !(t < 2)}' || fail "terminate took $took s"
echo "terminated in $took s"

echo
echo "ops check passed"
