#!/usr/bin/env bash
# pnpm stack:up — the distributed stack on this machine, in the background: a single-node Kafka
# (infra/kafka/start.sh) and one process per service (intake, event-relay, routing,
# department-workflow, notification, dashboard) with the event log and the personal data's keys on
# PostgreSQL (CIVIC_PG_URL, default postgres://postgres@127.0.0.1:5432/test; schema
# CIVIC_PG_SCHEMA, default civic_stack) — or, with CIVIC_EVENT_STORE=sqlite, on one events.sqlite
# file in $CIVIC_DATA_DIR as before. Checks that PostgreSQL answers before starting anything, makes
# the stack's master key once ($CIVIC_DATA_DIR/master.key, owner-only) and gives it to every
# service. Returns once every part answers /healthz; on a failure prints that service's log and
# stops what it started. Services already running are left alone. `pnpm stack:down` stops everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mkdir -p "$RUN_DIR" "$LOG_DIR"
started=$SECONDS

case "$CIVIC_EVENT_STORE" in
  postgres)
    # Before anything starts: a stack without its log would only fail service by service.
    if ! pg_state="$(node "$STACK_DIR/postgres.mjs" check "$CIVIC_PG_URL" "$CIVIC_PG_SCHEMA" 2>&1)"; then
      say "ERROR: PostgreSQL does not answer at $(pg_url_shown): $pg_state" >&2
      say "The stack keeps its event log and the personal data's keys there (CIVIC_EVENT_STORE=postgres, schema $CIVIC_PG_SCHEMA). Either:" >&2
      say "  - start PostgreSQL (e.g. sudo pg_ctlcluster 15 main start) and run pnpm stack:up again," >&2
      say "  - point the stack at your server: CIVIC_PG_URL=postgres://user@host:5432/database pnpm stack:up (CIVIC_PG_SCHEMA=name for another schema)," >&2
      say "  - or keep the log in one SQLite file on this host, as before: CIVIC_EVENT_STORE=sqlite pnpm stack:up" >&2
      exit 1
    fi
    ;;
  sqlite) pg_state="" ;;
  *)
    say "ERROR: pnpm stack:up runs on CIVIC_EVENT_STORE=postgres (the default) or sqlite, not \"$CIVIC_EVENT_STORE\"" >&2
    exit 1
    ;;
esac

# The personal data's master key, the same for every service (common.sh).
stack_master_key "$pg_state" || exit 1

say "Kafka on 127.0.0.1:$KAFKA_PORT (data in $KAFKA_DATA_DIR)"
if ! "$REPO_DIR/infra/kafka/start.sh"; then
  dev_pid_file="$REPO_DIR/data/kafka/kafka.pid"
  if [ "$KAFKA_DATA_DIR" != "$REPO_DIR/data/kafka" ] && [ -f "$dev_pid_file" ] && kill -0 "$(cat "$dev_pid_file" 2>/dev/null)" 2>/dev/null; then
    say "the development broker of infra/kafka/start.sh (data/kafka) is running on that port." >&2
    say "stop it with infra/kafka/stop.sh, or run the stack beside it: KAFKA_PORT=9192 KAFKA_CONTROLLER_PORT=9193 pnpm stack:up" >&2
  fi
  exit 1
fi

fail() {
  local name="$1" reason="$2"
  say "ERROR: $name $reason; last lines of $(log_file_of "$name"):" >&2
  tail -n 40 "$(log_file_of "$name")" >&2 || true
  say "stopping what was started (pnpm stack:down)" >&2
  "$STACK_DIR/down.sh" --keep-kafka >&2 || true
  exit 1
}

for name in "${SERVICES[@]}"; do
  port="$(port_of "$name")"
  if pid="$(running_pid "$name")"; then
    say "$name already running (pid $pid) on :$port"
    continue
  fi
  if curl -fsS --max-time 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
    say "ERROR: port $port (for $name) answers already, but not from a process this script started; stop it or choose another port (see infra/stack/README.md)" >&2
    exit 1
  fi
  log="$(log_file_of "$name")"
  printf '\n=== %s started %s\n' "$name" "$(date -Is)" >>"$log"
  # setsid: the service gets its own process group, so stopping the stack never hits the caller.
  PORT="$port" setsid node --import tsx "$(entry_of "$name")" >>"$log" 2>&1 </dev/null &
  echo $! >"$(pid_file_of "$name")"
  say "$name starting (pid $!) on :$port, log $log"
done

for name in "${SERVICES[@]}"; do
  deadline=$((SECONDS + STACK_START_TIMEOUT))
  until healthy "$name"; do
    running_pid "$name" >/dev/null || fail "$name" "exited during start"
    [ "$SECONDS" -lt "$deadline" ] || fail "$name" "did not answer /healthz within ${STACK_START_TIMEOUT}s"
    sleep 0.3
  done
done

say "up in $((SECONDS - started))s:"
for name in "${SERVICES[@]}"; do
  printf '[stack]   %-20s http://127.0.0.1:%s   pid %s\n' "$name" "$(port_of "$name")" "$(running_pid "$name")"
done
if [ "$CIVIC_EVENT_STORE" = postgres ]; then
  say "Kafka $KAFKA_BROKERS; event store PostgreSQL $(pg_url_shown) schema $CIVIC_PG_SCHEMA (keys of the personal data in $CIVIC_PG_SCHEMA""_privacy); logs in $LOG_DIR"
  if [ -f "$CIVIC_DATA_DIR/events.sqlite" ]; then
    say "note: $CIVIC_DATA_DIR/events.sqlite (an earlier stack on SQLite) is not used; CIVIC_EVENT_STORE=sqlite pnpm stack:up runs on it"
  fi
else
  say "Kafka $KAFKA_BROKERS; event store $CIVIC_DATA_DIR/events.sqlite (SQLite, this host only); logs in $LOG_DIR"
fi
say "personal data: master key $KEY_NOTE, given to every service as CIVIC_MASTER_KEY; keep a copy apart from backups: without it the citizens' data cannot be read"
say_hints
