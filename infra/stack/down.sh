#!/usr/bin/env bash
# pnpm stack:down — stops the services started by `pnpm stack:up` (SIGTERM: each finishes the
# message in hand, commits and disconnects; SIGKILL after 30 s), then the Kafka broker.
# --keep-kafka leaves the broker running; --wipe also deletes the stack's data folder (its master
# key included) and, on PostgreSQL, the stack's schemas (CIVIC_PG_SCHEMA and its _privacy): the
# log and the keys that folder's key opened.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

keep_kafka=false
wipe=false
for arg in "$@"; do
  case "$arg" in
    --keep-kafka) keep_kafka=true ;;
    --wipe) wipe=true ;;
    *) echo "usage: $0 [--keep-kafka] [--wipe]" >&2; exit 2 ;;
  esac
done

pids=()
# All at once: each service finishes its own in-flight work; none waits for another.
for name in "${SERVICES[@]}"; do
  if pid="$(running_pid "$name")"; then
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$name:$pid")
    say "$name (pid $pid) stopping"
  fi
done

deadline=$((SECONDS + 30))
for entry in "${pids[@]}"; do
  name="${entry%%:*}" pid="${entry##*:}"
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "$name (pid $pid) did not stop within 30 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$(pid_file_of "$name")"
done
[ "${#pids[@]}" -gt 0 ] || say "no service was running"

if [ "$keep_kafka" = false ]; then
  "$REPO_DIR/infra/kafka/stop.sh"
fi
if [ "$wipe" = true ]; then
  if [ "$CIVIC_EVENT_STORE" = postgres ]; then
    # The log and the keys go with the master key: a new key could open neither.
    if problem="$(node "$STACK_DIR/postgres.mjs" drop "$CIVIC_PG_URL" "$CIVIC_PG_SCHEMA" 2>&1)"; then
      say "dropped the schemas $CIVIC_PG_SCHEMA and $CIVIC_PG_SCHEMA""_privacy on $(pg_url_shown)"
    else
      say "ERROR: cannot drop the schemas $CIVIC_PG_SCHEMA and $CIVIC_PG_SCHEMA""_privacy on $(pg_url_shown) ($problem); $CIVIC_DATA_DIR is kept (its master key opens them): start PostgreSQL and run pnpm stack:down --wipe again" >&2
      exit 1
    fi
  fi
  rm -rf "$CIVIC_DATA_DIR"
  say "removed $CIVIC_DATA_DIR"
fi
