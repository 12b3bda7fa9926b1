#!/bin/sh
# Creates Loopline's namespace and registers its search attributes, then checks that the server has every
# one with the right type. The same script runs in docker-compose.yml's one-shot `temporal-setup` job
# (temporalio/admin-tools image) and in `npm run cluster` (src/devtools/cluster.ts).
#
#   TEMPORAL_ADDRESS             the frontend, host:port
#   NAMESPACE                    default: default
#   RETENTION                    retention of closed workflows, default 7d (used when creating only)
#   LOOPLINE_SEARCH_ATTRIBUTES   "Name=Type ..." (src/temporal/search-attributes.ts; a test keeps compose's equal)
#   TEMPORAL_CLI                 the temporal CLI (default: temporal on PATH)
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is not set}"
: "${LOOPLINE_SEARCH_ATTRIBUTES:?LOOPLINE_SEARCH_ATTRIBUTES is not set}"
NAMESPACE="${NAMESPACE:-default}"
CLI="${TEMPORAL_CLI:-temporal}"
export TEMPORAL_ADDRESS

attempt=0
until "$CLI" operator cluster health >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then
    echo "the Temporal server at $TEMPORAL_ADDRESS is not healthy after 60 tries" >&2
    exit 1
  fi
  sleep 1
done

if ! "$CLI" operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  "$CLI" operator namespace create --namespace "$NAMESPACE" --retention "${RETENTION:-7d}"
  echo "namespace $NAMESPACE created"
fi

list() { "$CLI" operator search-attribute list --namespace "$NAMESPACE" -o json; }
upper() { printf '%s' "$1" | tr '[:lower:]' '[:upper:]'; }

# Register the missing ones (a namespace created a moment ago may not be in every cache yet: retry).
attempt=0
while :; do
  if ! existing="$(list 2>/dev/null)"; then existing=""; fi
  missing=""
  for sa in $LOOPLINE_SEARCH_ATTRIBUTES; do
    name="${sa%%=*}"
    printf '%s' "$existing" | grep -q "\"$name\":" || missing="$missing --name $name --type ${sa#*=}"
  done
  [ -z "$missing" ] && break
  # shellcheck disable=SC2086 # word splitting of the --name/--type pairs is intended
  if "$CLI" operator search-attribute create --namespace "$NAMESPACE" $missing; then
    continue
  fi
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 30 ]; then
    echo "could not register the search attributes:$missing" >&2
    exit 1
  fi
  sleep 1
done

# Check: every attribute is there with the type Loopline writes.
existing="$(list)"
for sa in $LOOPLINE_SEARCH_ATTRIBUTES; do
  name="${sa%%=*}"
  type="INDEXED_VALUE_TYPE_$(upper "${sa#*=}")"
  if ! printf '%s' "$existing" | grep -q "\"$name\": *\"$type\""; then
    echo "search attribute $name is not registered as $type in namespace $NAMESPACE" >&2
    exit 1
  fi
done
echo "namespace $NAMESPACE has every Loopline search attribute: $LOOPLINE_SEARCH_ATTRIBUTES"
