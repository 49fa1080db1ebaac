#!/bin/sh
# One-shot job of docker-compose.yml (image temporalio/admin-tools): creates
# Temporal's PostgreSQL databases, temporal and temporal_visibility, and
# brings their schemas up to date. Safe to re-run: existing databases are
# kept and only missing schema versions are applied, which is also how a
# newer Temporal server image gets its schema upgrade.
#
# temporal-sql-tool reads SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER and
# SQL_PASSWORD from the environment. SCHEMA_DIR is the directory of the
# PostgreSQL schema files, by default where admin-tools has them; outside the
# image (deploy/prodcheck/run.sh), the server module's schema/postgresql/v12.
set -eu

echo "waiting for PostgreSQL at ${SQL_HOST}:${SQL_PORT}"
n=0
until nc -z -w 5 "${SQL_HOST}" "${SQL_PORT}"; do
  n=$((n + 1))
  if [ "$n" -ge 60 ]; then
    echo "PostgreSQL at ${SQL_HOST}:${SQL_PORT} does not answer" >&2
    exit 1
  fi
  sleep 1
done

schema="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"
for db in temporal temporal_visibility; do
  case "$db" in
    temporal) dir="$schema/temporal/versioned" ;;
    temporal_visibility) dir="$schema/visibility/versioned" ;;
  esac
  echo "database $db: create, setup, update from $dir"
  temporal-sql-tool --db "$db" create
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$dir"
done
echo "schema up to date"
