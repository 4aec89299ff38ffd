#!/usr/bin/env bash
# pnpm stack:up — the distributed stack on this machine, in the background: a single-node Kafka
# (infra/kafka/start.sh) and one process per service (intake, event-relay, routing,
# department-workflow, notification) sharing the event store in $CIVIC_DATA_DIR. Returns once
# every part answers /healthz; on a failure prints that service's log and stops what it started.
# Services already running are left alone. `pnpm stack:down` stops everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mkdir -p "$RUN_DIR" "$LOG_DIR"
started=$SECONDS

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
say "Kafka $KAFKA_BROKERS; event store $CIVIC_DATA_DIR/events.sqlite; logs in $LOG_DIR"
say_hints
