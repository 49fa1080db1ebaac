#!/usr/bin/env bash
# soak-kill.sh: a bounded crash soak. It starts `maestro dev` (server and API,
# its own worker on another queue), an external `maestro worker` whose policy
# allows just this script's node program, RUNS runs of three command nodes
# each, and kills the external worker with SIGKILL KILLS times at random
# moments, restarting it each time. It reports how many runs completed, the
# recovery after each kill (kill → the next node start), and whether two
# processes of one node were ever alive at once (sampled every 100 ms).
#
#   scripts/soak-kill.sh            # RUNS=10 KILLS=10; a few minutes
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
KILLS=${KILLS:-10}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT
go build -o "$work/maestro" ./cmd/maestro
port=$((20000 + RANDOM % 10000))
export TEMPORAL_ADDRESS=127.0.0.1:$port MAESTRO_LOG_LEVEL=warn
cat > "$work/node.sh" <<'NODE'
#!/bin/sh
# node.sh LOG ID: logs its start, works 3 s, logs its end.
echo "start $(date +%s.%N) $2 $$" >> "$1"
sleep 3
echo "end $(date +%s.%N) $2 $$" >> "$1"
NODE
chmod +x "$work/node.sh"
log=$work/nodes.log
: > "$log"

"$work/maestro" dev --data-dir "$work/data" --temporal-listen "127.0.0.1:$port" --ui-listen "" --api-listen "" \
	--task-queue dev-only > "$work/dev.out" 2> "$work/dev.err" &
for _ in $(seq 100); do grep -q '^ready' "$work/dev.out" 2>/dev/null && break; sleep 0.2; done

start_worker() {
	MAESTRO_POLICY_COMMANDS="$work/node.sh" MAESTRO_METRICS_ADDR= \
		"$work/maestro" worker --task-queue soak >> "$work/worker.err" 2>&1 &
	echo $!
}
worker=$(start_worker)

ids=()
for i in $(seq "$RUNS"); do
	# Node IDs carry the run's number, so that the overlap check can tell
	# one run's node from another's.
	cat > "$work/pipeline-$i.yaml" <<YAML
name: soak
mode: dag_parallel
nodes:
  - {id: one, executor: {kind: command, argv: ["$work/node.sh", "$log", "r$i-one"]}}
  - {id: two, depends_on: [one], executor: {kind: command, argv: ["$work/node.sh", "$log", "r$i-two"]}}
  - {id: three, depends_on: [two], executor: {kind: command, argv: ["$work/node.sh", "$log", "r$i-three"]}}
YAML
	ids+=("soak-$i-$RANDOM")
	MAESTRO_POLICY_COMMANDS="$work/node.sh" "$work/maestro" start --task-queue soak --file "$work/pipeline-$i.yaml" --id "${ids[-1]}" > /dev/null
done

# Sample the live node processes: two of one run's node at once is a failure.
(
	while sleep 0.1; do
		ps -eo pid=,args= | awk -v s="$work/node.sh" '$2 == "/bin/sh" && $3 == s {print $5}' | sort | uniq -d
	done
) > "$work/overlaps" &

kills=()
for k in $(seq "$KILLS"); do
	sleep "$(awk -v r=$RANDOM 'BEGIN {printf "%.1f", 1 + (r % 40) / 10}')"
	kill -9 "$worker" 2>/dev/null || true
	kills+=("$(date +%s.%N)")
	sleep 0.5
	worker=$(start_worker)
done

done_runs=0
for _ in $(seq 120); do
	done_runs=0
	for id in "${ids[@]}"; do
		st=$("$work/maestro" status "$id" --json 2>/dev/null | sed -n 's/^  "status": "\([a-z_]*\)",$/\1/p' | head -1)
		case $st in completed|failed|cancelled|timed_out) done_runs=$((done_runs + 1)) ;; esac
	done
	[ "$done_runs" -eq "${#ids[@]}" ] && break
	sleep 1
done
completed=0
for id in "${ids[@]}"; do
	st=$("$work/maestro" status "$id" --json 2>/dev/null | sed -n 's/^  "status": "\([a-z_]*\)",$/\1/p' | head -1)
	[ "$st" = completed ] && completed=$((completed + 1))
	[ "$st" = completed ] || echo "run $id: $st"
done
echo "runs completed: $completed/${#ids[@]}"
# Recovery: from each kill to the first node start after it.
starts=$(awk '$1 == "start" {print $2}' "$log" | sort -n)
for t in "${kills[@]}"; do
	awk -v t="$t" '$1 > t {printf "%.1f\n", $1 - t; exit}' <<< "$starts"
done | sort -n > "$work/recovery"
echo "recovery after a kill (s), sorted: $(tr '\n' ' ' < "$work/recovery")"
echo "median recovery (s): $(awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}' "$work/recovery")"
if [ -s "$work/overlaps" ]; then echo "OVERLAP: two processes of one node were alive at once"; else echo "no overlapping processes of one node"; fi
echo "logs in $work"
