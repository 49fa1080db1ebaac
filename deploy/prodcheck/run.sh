#!/usr/bin/env bash
# Maestro's production topology on one machine, without Docker: the stack of
# docker-compose.yml, built from source and run as plain processes.
#
#   bash deploy/prodcheck/run.sh            # as root or a user with sudo
#
# Needs Debian (apt), Go and gcc; reaches only Debian's apt repositories and
# the Go module proxy. In order, as the compose file starts its services:
#   1. PostgreSQL: installed from Debian if missing; a private cluster in a
#      temporary directory (user temporal, password auth over TCP), run as
#      the postgres user when this script runs as root.
#   2. Temporal's own server and SQL tool (go.temporal.io/server/cmd/server,
#      cmd/tools/sql) and the temporal CLI (what temporalio/admin-tools
#      ships), built with `go install` at the server version the compose
#      file pins for temporalio/server and temporalio/admin-tools.
#   3. deploy/scripts/setup-schema.sh, twice (it must be safe to re-run),
#      with the schema files of that server version (SCHEMA_DIR).
#   4. The server as the image starts it: `temporal-server start` with no
#      config file, so that it renders its embedded config template from the
#      same environment the compose file gives it (DB=postgres12,
#      POSTGRES_SEEDS, POSTGRES_USER, POSTGRES_PWD, DYNAMIC_CONFIG_FILE_PATH
#      = deploy/temporal/dynamicconfig.yaml); only addresses and ports
#      differ, all on 127.0.0.1 and chosen free.
#   5. deploy/scripts/setup-namespace.sh, twice: namespace and search
#      attributes.
#   6. Two `maestro worker` and one `maestro api` (with a token, as compose
#      requires), with the compose file's Maestro environment and
#      deploy/policy.yaml.
#   7. PRODCHECK_RUNS (200) sdlc-parallel runs started through POST
#      /api/workflows; once half of them are started, one worker is killed
#      with SIGKILL. Every run must complete (none failed, none lost), then
#      GET /health must say healthy and `maestro doctor` exit 0.
# It prints the figures (runs, time, runs/s, when the worker was killed,
# nodes retried) and removes every process and file it made on exit.
#
# Settings (environment): PRODCHECK_RUNS (200), PRODCHECK_CONCURRENCY (8
# start requests at once), PRODCHECK_TEMPLATE (sdlc-parallel),
# PRODCHECK_KILL_AT (runs started before the kill; RUNS/2),
# PRODCHECK_TIMEOUT (seconds for all runs to close; 900),
# PRODCHECK_TEMPORAL_CLI_VERSION (v1.5.1: later ones do not build with `go
# install`, their go.mod has a replace directive), PRODCHECK_KEEP=1 keeps the
# temporary directory (logs) for inspection.
set -euo pipefail

RUNS=${PRODCHECK_RUNS:-200}
CONCURRENCY=${PRODCHECK_CONCURRENCY:-8}
TEMPLATE=${PRODCHECK_TEMPLATE:-sdlc-parallel}
KILL_AT=${PRODCHECK_KILL_AT:-$((RUNS / 2))}
RUN_TIMEOUT=${PRODCHECK_TIMEOUT:-900}
CLI_VERSION=${PRODCHECK_TEMPORAL_CLI_VERSION:-v1.5.1}
KEEP=${PRODCHECK_KEEP:-0}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
t_script=$SECONDS

# The processes get the compose file's environment and nothing from the
# caller's: no Temporal profile, no agent provider (the templates' phases run
# simulated, as in compose without an API key).
while IFS= read -r v; do
  case "$v" in
  TEMPORAL_* | MAESTRO_* | ANTHROPIC_API_KEY | OPENAI_API_KEY) unset "$v" ;;
  esac
done < <(compgen -e)

current_step="start"
step() {
  current_step="$*"
  printf '\n==> [%4ss] %s\n' "$((SECONDS - t_script))" "$*"
}
die() {
  echo "prodcheck: FAILED in step '${current_step}': $*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ---------------------------------------------------------------- cleanup

tmp=""
pids=()      # processes this script started, in start order
pg_ctl=""    # set once a cluster runs
pg_user=""   # the user the cluster runs as ("" = this user)
pg_data=""

as_pg() {
  if [ -n "$pg_user" ]; then (cd / && runuser -u "$pg_user" -- "$@"); else "$@"; fi
}

show_logs() {
  [ -n "$tmp" ] && [ -d "$tmp/logs" ] || return 0
  for f in "$tmp"/logs/*.log; do
    [ -s "$f" ] || continue
    echo "---- last lines of $(basename "$f") ----" >&2
    tail -n 15 "$f" >&2 || true
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ]; then
    echo "prodcheck: FAILED (exit $rc) in step '${current_step}'" >&2
    case "$rc" in 130 | 143) ;; *) show_logs ;; esac # not when interrupted
  fi
  # Maestro's processes and the server first, newest first, then PostgreSQL.
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$pg_ctl" ] && [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
    as_pg "$pg_ctl" -D "$pg_data" -m fast -t 30 stop >/dev/null 2>&1 ||
      as_pg "$pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
  fi
  if [ -n "$tmp" ] && [ -d "$tmp" ]; then
    if [ "$KEEP" = 1 ]; then
      echo "prodcheck: kept $tmp (PRODCHECK_KEEP=1)"
    else
      rm -rf "$tmp"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ ports

taken_ports=" "
listening() { ss -Hltn 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u | tr '\n' ' '; }
# free_port VAR: sets VAR to a TCP port nothing listens on and this script
# has not handed out yet.
free_port() {
  local p busy
  busy=" $(listening) "
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000)) # below 32768: Temporal stores membership ports as smallint
    case "$busy$taken_ports" in *" $p "*) continue ;; esac
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then continue; fi
    taken_ports+="$p "
    printf -v "$1" '%s' "$p"
    return 0
  done
  die "no free port found"
}

# wait_until SECONDS DESCRIPTION COMMAND...: runs COMMAND every second until
# it succeeds; fails the step after SECONDS, or as soon as one of the
# processes in watch (pid:name ...) has exited.
watch=()
wait_until() {
  local limit=$1 what=$2
  shift 2
  local t0=$SECONDS w
  until "$@" >/dev/null 2>&1; do
    for w in "${watch[@]}"; do alive "${w%%:*}" "${w#*:}"; done
    if ((SECONDS - t0 >= limit)); then die "$what: not after ${limit}s"; fi
    sleep 1
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
alive() { kill -0 "$1" 2>/dev/null || die "$2 exited; see its log"; }

# ================================================================== steps

step "prerequisites"
command -v go >/dev/null || die "go is not installed"
command -v apt-get >/dev/null || die "apt-get is missing: this script is for Debian"
missing_pkgs=()
command -v curl >/dev/null || missing_pkgs+=(curl)
command -v jq >/dev/null || missing_pkgs+=(jq)
# setup-schema.sh waits for the database with nc, as in admin-tools.
command -v nc >/dev/null || missing_pkgs+=(netcat-openbsd)
command -v ss >/dev/null || missing_pkgs+=(iproute2)
command -v gcc >/dev/null || missing_pkgs+=(gcc)
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ] || [ ! -x "$pg_bin/pg_ctl" ]; then
  missing_pkgs+=(postgresql)
fi
if [ "${#missing_pkgs[@]}" -gt 0 ]; then
  echo "installing from Debian: ${missing_pkgs[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
    die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing_pkgs[@]}" ||
    die "apt-get install ${missing_pkgs[*]} failed"
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
[ -x "$pg_bin/initdb" ] || die "PostgreSQL's initdb not found under /usr/lib/postgresql/*/bin"
echo "PostgreSQL: $("$pg_bin/postgres" --version)"

# The server version: what the compose file pins for Temporal's images.
compose="$repo/docker-compose.yml"
server_version=$(sed -n 's#^[[:space:]]*image: temporalio/server:\([0-9][0-9.]*\)[[:space:]]*$#\1#p' "$compose" | sort -u)
tools_version=$(sed -n 's#^[[:space:]]*image: temporalio/admin-tools:\([0-9][0-9.]*\)[[:space:]]*$#\1#p' "$compose" | sort -u)
[ -n "$server_version" ] && [ "$(wc -l <<<"$server_version")" -eq 1 ] ||
  die "docker-compose.yml must pin temporalio/server to one version, found: ${server_version:-none}"
[ "$server_version" = "$tools_version" ] ||
  die "docker-compose.yml pins temporalio/server:$server_version but temporalio/admin-tools:$tools_version"
echo "Temporal server version (docker-compose.yml): $server_version"

tmp=$(mktemp -d /tmp/maestro-prodcheck.XXXXXX)
chmod 755 "$tmp" # the postgres user reaches its directory below
mkdir -p "$tmp/bin" "$tmp/logs" "$tmp/gobin"
export PATH="$tmp/bin:$PATH"

# ---------------------------------------------------------------- builds

step "build Temporal server, SQL tool (go.temporal.io/server@v$server_version) and temporal CLI ($CLI_VERSION)"
t0=$SECONDS
# go install pkg@version builds with Temporal's own go.mod, as its images do.
(cd "$tmp" && GOBIN="$tmp/gobin" GOFLAGS= GOWORK=off go install \
  "go.temporal.io/server/cmd/server@v$server_version" \
  "go.temporal.io/server/cmd/tools/sql@v$server_version") >"$tmp/logs/build-temporal.log" 2>&1 ||
  die "go install go.temporal.io/server/cmd/server@v$server_version failed (log above)"
mv "$tmp/gobin/server" "$tmp/bin/temporal-server"
mv "$tmp/gobin/sql" "$tmp/bin/temporal-sql-tool"
(cd "$tmp" && GOBIN="$tmp/bin" GOFLAGS= GOWORK=off go install "github.com/temporalio/cli/cmd/temporal@$CLI_VERSION") \
  >"$tmp/logs/build-cli.log" 2>&1 || die "go install github.com/temporalio/cli/cmd/temporal@$CLI_VERSION failed"
build_temporal_s=$((SECONDS - t0))
echo "built in ${build_temporal_s}s; temporal CLI $CLI_VERSION: $(temporal --version | head -n 1)"

step "build maestro"
t0=$SECONDS
(cd "$repo" && go build -o "$tmp/bin/maestro" ./cmd/maestro) >"$tmp/logs/build-maestro.log" 2>&1 ||
  die "go build ./cmd/maestro failed"
build_maestro_s=$((SECONDS - t0))
echo "built in ${build_maestro_s}s"

schema_dir="$(go env GOMODCACHE)/go.temporal.io/server@v$server_version/schema/postgresql/v12"
[ -d "$schema_dir/temporal/versioned" ] || die "schema files not found in $schema_dir"

# ------------------------------------------------------------ PostgreSQL

step "PostgreSQL: private cluster"
free_port pg_port
pg_dir="$tmp/pg"
pg_data="$pg_dir/data"
pg_password=temporal # the compose file's default POSTGRES_PASSWORD
mkdir -p "$pg_dir"
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL refuses to run as root.
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres || die "cannot create user postgres"
  fi
  pg_user=postgres
  chown "$pg_user" "$pg_dir"
fi
printf '%s\n' "$pg_password" >"$pg_dir/pwfile"
[ -z "$pg_user" ] || chown "$pg_user" "$pg_dir/pwfile"
as_pg "$pg_bin/initdb" -D "$pg_data" -U temporal --pwfile="$pg_dir/pwfile" \
  --auth-local=trust --auth-host=scram-sha-256 --no-locale -E UTF8 >"$tmp/logs/initdb.log" 2>&1 ||
  die "initdb failed (see $tmp/logs/initdb.log)"
pg_ctl="$pg_bin/pg_ctl"
as_pg "$pg_ctl" -D "$pg_data" -l "$pg_dir/postgres.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir" start >/dev/null ||
  { cat "$pg_dir/postgres.log" >&2; die "pg_ctl start failed"; }
# The compose healthcheck: pg_isready.
wait_until 60 "PostgreSQL ready on 127.0.0.1:$pg_port" "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port" -U temporal
echo "PostgreSQL on 127.0.0.1:$pg_port"

step "schema: deploy/scripts/setup-schema.sh (twice)"
# The compose file's environment for service temporal-schema.
schema_env=(
  SQL_PLUGIN=postgres12 SQL_HOST=127.0.0.1 SQL_PORT="$pg_port" SQL_USER=temporal SQL_PASSWORD="$pg_password"
  SCHEMA_DIR="$schema_dir"
)
for n in 1 2; do
  env "${schema_env[@]}" timeout 300 sh "$repo/deploy/scripts/setup-schema.sh" >"$tmp/logs/setup-schema-$n.log" 2>&1 ||
    die "setup-schema.sh (run $n) failed (see $tmp/logs/setup-schema-$n.log)"
done
tail -n 1 "$tmp/logs/setup-schema-2.log"

# --------------------------------------------------------------- server

step "Temporal server"
free_port fe_port
temporal_address="127.0.0.1:$fe_port"
# The compose file's environment for service temporal; BIND_ON_IP and the
# ports differ (one host, loopback).
for v in http_port fe_member history_port history_member matching_port matching_member worker_port worker_member; do
  free_port "$v"
done
server_env=(
  DB=postgres12 DB_PORT="$pg_port" POSTGRES_SEEDS=127.0.0.1 POSTGRES_USER=temporal POSTGRES_PWD="$pg_password"
  BIND_ON_IP=127.0.0.1
  DYNAMIC_CONFIG_FILE_PATH="$repo/deploy/temporal/dynamicconfig.yaml"
  FRONTEND_GRPC_PORT="$fe_port" FRONTEND_HTTP_PORT="$http_port" FRONTEND_MEMBERSHIP_PORT="$fe_member"
  HISTORY_GRPC_PORT="$history_port" HISTORY_MEMBERSHIP_PORT="$history_member"
  MATCHING_GRPC_PORT="$matching_port" MATCHING_MEMBERSHIP_PORT="$matching_member"
  WORKER_GRPC_PORT="$worker_port" WORKER_MEMBERSHIP_PORT="$worker_member"
)
mkdir -p "$tmp/server"
(cd "$tmp/server" && exec env "${server_env[@]}" temporal-server start) >"$tmp/logs/temporal-server.log" 2>&1 &
pids+=($!)
server_pid=$!
watch+=("$server_pid:temporal-server")
t0=$SECONDS
# The compose healthcheck: port 7233 answers.
wait_until 120 "Temporal frontend on $temporal_address" port_open "$fe_port"
alive "$server_pid" "temporal-server"
echo "Temporal frontend on $temporal_address after $((SECONDS - t0))s"

step "namespace and search attributes: deploy/scripts/setup-namespace.sh (twice)"
for n in 1 2; do
  TEMPORAL_ADDRESS="$temporal_address" NAMESPACE=default timeout 180 sh "$repo/deploy/scripts/setup-namespace.sh" \
    >"$tmp/logs/setup-namespace-$n.log" 2>&1 ||
    die "setup-namespace.sh (run $n) failed (see $tmp/logs/setup-namespace-$n.log)"
done
tail -n 1 "$tmp/logs/setup-namespace-2.log"

# --------------------------------------------------------------- maestro

step "two maestro workers and one maestro api"
free_port api_port
api_url="http://127.0.0.1:$api_port"
api_token=$(openssl rand -hex 32 2>/dev/null || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
# curl reads the header from a file: the token stays off command lines.
(umask 077 && printf 'Authorization: Bearer %s\n' "$api_token" >"$tmp/api-auth")
mkdir -p "$tmp/artifacts"
# The compose file's x-maestro-env, with the addresses of this host.
maestro_env=(
  TEMPORAL_ADDRESS="$temporal_address" TEMPORAL_NAMESPACE=default
  TEMPORAL_CONFIG_FILE="$tmp/no-temporal-profile.toml"
  MAESTRO_TASK_QUEUE=maestro
  MAESTRO_ENABLE_DAG_EXECUTION=true MAESTRO_ENABLE_PARALLEL_EXECUTION=true
  MAESTRO_LOG_LEVEL=info MAESTRO_LOG_FORMAT=json
  MAESTRO_ARTIFACT_DIR="$tmp/artifacts"
  MAESTRO_POLICY_FILE="$repo/deploy/policy.yaml"
)
worker_pids=()
worker_metrics=()
for w in 1 2; do
  mkdir -p "$tmp/worker$w"
  free_port m
  worker_metrics+=("$m")
  (cd "$tmp/worker$w" && exec env "${maestro_env[@]}" MAESTRO_DATA_DIR="$tmp/worker$w" \
    MAESTRO_METRICS_ADDR="127.0.0.1:$m" maestro worker) >"$tmp/logs/worker$w.log" 2>&1 &
  pids+=($!)
  worker_pids+=($!)
  watch+=("$!:maestro worker $w")
done
mkdir -p "$tmp/api"
(cd "$tmp/api" && exec env "${maestro_env[@]}" MAESTRO_DATA_DIR="$tmp/api" \
  MAESTRO_API_ADDR="127.0.0.1:$api_port" MAESTRO_API_TOKEN="$api_token" maestro api) >"$tmp/logs/api.log" 2>&1 &
pids+=($!)
api_pid=$!
watch+=("$api_pid:maestro api")

health_is() { [ "$(curl -fsS --max-time 10 "$api_url/health" | jq -r .status)" = "$1" ]; }
wait_until 60 "API /health healthy (both workers polling)" health_is healthy
for w in 0 1; do alive "${worker_pids[w]}" "worker $((w + 1))"; done
alive "$api_pid" "maestro api"
for m in "${worker_metrics[@]}"; do
  curl -fsS --max-time 10 "http://127.0.0.1:$m/metrics" >/dev/null || die "worker /metrics on port $m does not answer"
done
echo "API on $api_url healthy; workers pid ${worker_pids[*]}"

# -------------------------------------------------------------- the runs

# api METHOD PATH [BODY] [HEADER...]: a request with the token; retries on
# 429 and 503 (rate limit, busy) up to 30 times; prints "code body".
api() {
  local method=$1 path=$2 body=${3:-}
  shift 3 || shift $#
  local out code tries=0
  while :; do
    out=$(curl -sS --max-time 30 -X "$method" "$api_url$path" \
      -H @"$tmp/api-auth" -H 'Content-Type: application/json' \
      "$@" ${body:+--data "$body"} -w '\n%{http_code}') || out=$'\n000'
    code=${out##*$'\n'}
    case "$code" in
    429 | 503 | 000)
      tries=$((tries + 1))
      [ "$tries" -lt 30 ] || break
      sleep 1
      ;;
    *) break ;;
    esac
  done
  printf '%s %s\n' "$code" "${out%$'\n'*}"
}
export -f api
export api_url tmp

# start_run I: starts run pc-I (id = Idempotency-Key, so a retried request
# is the same run) and records it.
start_run() {
  local i=$1 res code
  res=$(api POST /api/workflows \
    "{\"template\": \"$TEMPLATE\", \"requirement\": \"prodcheck run $i\", \"id\": \"pc-$i\"}" \
    -H "Idempotency-Key: pc-$i")
  code=${res%% *}
  case "$code" in
  200 | 201) echo "$i" >"$tmp/started/$i" ;;
  *) echo "start of pc-$i: HTTP $res" >>"$tmp/start-errors" ;;
  esac
}
export -f start_run
export TEMPLATE

# counts: how many of this script's runs the API lists, by status, as
# "completed closed_otherwise running_or_paused" (all pages).
counts() {
  local res code token="" page all="[]"
  while :; do
    res=$(api GET "/api/workflows?page_size=1000${token:+&page_token=$token}")
    code=${res%% *}
    [ "$code" = 200 ] || { echo "GET /api/workflows: HTTP $res" >&2; return 1; }
    page=${res#* }
    all=$(jq -c --argjson all "$all" '$all + [.workflows[] | select(.workflow_id | startswith("pc-")) | .status]' <<<"$page")
    token=$(jq -r '.next_page_token // empty' <<<"$page")
    [ -n "$token" ] || break
  done
  jq -r '[(map(select(. == "completed")) | length),
          (map(select(. == "failed" or . == "cancelled" or . == "timed_out" or . == "terminated")) | length),
          (map(select(. == "running" or . == "paused")) | length)] | @tsv' <<<"$all"
}
since_runs() { awk -v a="$date_runs" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

step "start $RUNS $TEMPLATE runs through POST /api/workflows ($CONCURRENCY at a time); SIGKILL worker 1 once $KILL_AT are started"
mkdir -p "$tmp/started"
t_runs=$SECONDS
date_runs=$(date +%s.%N)
seq 1 "$RUNS" | xargs -P "$CONCURRENCY" -I{} bash -c 'start_run {}' &
starter_pid=$!
pids+=($starter_pid)
killed_at="" killed_started="" killed_completed=""
while :; do
  started=$(find "$tmp/started" -type f | wc -l)
  if [ -z "$killed_at" ] && [ "$started" -ge "$KILL_AT" ]; then
    kill -KILL "${worker_pids[0]}" || die "could not kill worker 1"
    wait "${worker_pids[0]}" 2>/dev/null || true
    killed_at=$(since_runs)
    killed_started=$started
    read -r killed_completed _ killed_open < <(counts) || { killed_completed="?"; killed_open="?"; }
    echo "SIGKILL worker 1 (pid ${worker_pids[0]}) at ${killed_at}s: $killed_started started, $killed_completed completed, $killed_open open"
  fi
  kill -0 "$starter_pid" 2>/dev/null || break
  ((SECONDS - t_runs < 300)) || die "starting $RUNS runs took over 300s"
  sleep 0.2
done
wait "$starter_pid" || true
start_s=$(since_runs)
[ ! -s "$tmp/start-errors" ] || { head -n 5 "$tmp/start-errors" >&2; die "$(wc -l <"$tmp/start-errors") starts failed"; }
started=$(find "$tmp/started" -type f | wc -l)
[ "$started" -eq "$RUNS" ] || die "$started of $RUNS runs started"
[ -n "$killed_at" ] || die "worker 1 was not killed"
echo "$RUNS runs started in ${start_s}s"

step "wait for all $RUNS runs to close (at most ${RUN_TIMEOUT}s; a killed worker's activities are retried after their heartbeat timeout)"
last=""
while :; do
  read -r completed bad open < <(counts) || die "listing the runs failed"
  [ "$bad" -eq 0 ] || die "$bad runs closed without completing (failed, cancelled, timed out or terminated)"
  if [ "$completed" != "$last" ]; then
    echo "  [$(since_runs)s] $completed/$RUNS completed, $open open"
    last=$completed
  fi
  [ "$completed" -lt "$RUNS" ] || break
  ((SECONDS - t_runs < RUN_TIMEOUT)) || die "$completed of $RUNS runs completed after ${RUN_TIMEOUT}s"
  alive "${worker_pids[1]}" "worker 2"
  alive "$api_pid" "maestro api"
  alive "$server_pid" "temporal-server"
  sleep 1
done
total_s=$(since_runs)

step "check every run: completed, every node completed"
retried_nodes=0
retried_runs=0
for i in $(seq 1 "$RUNS"); do
  res=$(api GET "/api/workflows/pc-$i")
  [ "${res%% *}" = 200 ] || die "GET /api/workflows/pc-$i: HTTP $res"
  body=${res#* }
  read -r st done_n total_n retried < <(jq -r '[.status, .completed_nodes, .total_nodes,
      ([.nodes[] | select(.attempts > 1)] | length)] | @tsv' <<<"$body")
  jq -r '.workflow_id as $w | .nodes[] | select(.attempts > 1) | "  \($w) node \(.id): \(.attempts) attempts"' <<<"$body"
  [ "$st" = completed ] || die "pc-$i is $st"
  [ "$done_n" = "$total_n" ] && [ "$total_n" -gt 0 ] || die "pc-$i: $done_n of $total_n nodes completed"
  if [ "$retried" -gt 0 ]; then retried_nodes=$((retried_nodes + retried)); retried_runs=$((retried_runs + 1)); fi
done
echo "all $RUNS runs completed with all their nodes; $retried_nodes nodes of $retried_runs runs ran more than once"

step "GET /health and maestro doctor"
health=$(curl -sS --max-time 15 "$api_url/health")
[ "$(jq -r .status <<<"$health")" = healthy ] || die "/health is not healthy: $health"
echo "/health: $(jq -c '{status}' <<<"$health")"
env "${maestro_env[@]}" maestro doctor --timeout 10s >"$tmp/logs/doctor.log" 2>&1 ||
  { cat "$tmp/logs/doctor.log" >&2; die "maestro doctor failed"; }
cat "$tmp/logs/doctor.log"

step "figures"
awk -v runs="$RUNS" -v total="$total_s" -v start="$start_s" -v kat="$killed_at" -v ks="$killed_started" \
  -v kc="$killed_completed" -v ko="$killed_open" -v rn="$retried_nodes" -v rr="$retried_runs" -v bt="$build_temporal_s" \
  -v bm="$build_maestro_s" -v tpl="$TEMPLATE" -v ver="$server_version" -v pg="$("$pg_bin/postgres" --version)" 'BEGIN {
  printf "prodcheck: PASS\n"
  printf "  stack              Temporal server %s on %s, 2 maestro workers, 1 maestro api\n", ver, pg
  printf "  runs               %d %s runs, all completed (0 failed, 0 lost)\n", runs, tpl
  printf "  total time         %.1f s from the first start request to the last run closed (starting: %.1f s)\n", total, start
  printf "  throughput         %.2f runs/s\n", runs / total
  printf "  worker killed      SIGKILL at %.1f s, with %d runs started, %s completed, %s open\n", kat, ks, kc, ko
  printf "  nodes retried      %d (in %d runs)\n", rn, rr
  printf "  /health            healthy; maestro doctor: exit 0\n"
  printf "  builds             Temporal server + SQL tool + CLI %d s, maestro %d s\n", bt, bm
}'
echo "  script total       $((SECONDS - t_script)) s"
