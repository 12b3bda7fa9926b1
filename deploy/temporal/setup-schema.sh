#!/bin/sh
# Creates and migrates Temporal's two PostgreSQL databases with Temporal's own schema tool. The same script
# runs in docker-compose.yml's one-shot `temporal-schema` job (temporalio/admin-tools image) and in
# `npm run cluster` (src/devtools/cluster.ts), so the cluster test migrates exactly as compose does.
#
#   SQL_HOST, SQL_PORT, SQL_USER    PostgreSQL (read by temporal-sql-tool itself)
#   SQL_PASSWORD or SQL_PASSWORD_FILE
#   SCHEMA_DIR        schema/postgresql/v12 of the server's version (admin-tools: /etc/temporal/schema/...)
#   TEMPORAL_SQL_TOOL the schema tool (default: temporal-sql-tool on PATH)
#
# All three steps are idempotent (the tool's own design, read in its v1.32.2 source): create-database
# ignores an existing database, setup-schema -v 0.0 leaves a database past 0.0 alone, and update-schema
# applies only the versioned migrations not applied yet. So this runs at every start, and after a server
# upgrade it applies exactly the new version's migrations. Any failure stops it with the tool's message.
set -eu

: "${SQL_HOST:?SQL_HOST is not set}"
: "${SQL_USER:?SQL_USER is not set}"
if [ -z "${SQL_PASSWORD:-}" ] && [ -n "${SQL_PASSWORD_FILE:-}" ]; then
  SQL_PASSWORD="$(cat "$SQL_PASSWORD_FILE")"
fi
: "${SQL_PASSWORD:?SQL_PASSWORD (or SQL_PASSWORD_FILE) is not set}"
export SQL_HOST SQL_USER SQL_PASSWORD SQL_PORT="${SQL_PORT:-5432}" SQL_PLUGIN=postgres12
SCHEMA_DIR="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"
TOOL="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"

for pair in temporal:temporal temporal_visibility:visibility; do
  db="${pair%%:*}"
  dir="$SCHEMA_DIR/${pair#*:}/versioned"
  "$TOOL" --db "$db" create-database
  "$TOOL" --db "$db" setup-schema -v 0.0
  "$TOOL" --db "$db" update-schema -d "$dir"
  echo "database $db: created if missing, migrated with $dir"
done
