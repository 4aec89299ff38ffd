#!/usr/bin/env bash
# Stops the broker started by start.sh: SIGTERM (a clean shutdown: the broker flushes and
# closes its logs, so the next start needs no recovery), SIGKILL after $KAFKA_STOP_TIMEOUT s
# (default 30). Succeeds when nothing is running.
#   --wipe  also deletes the data folder ($KAFKA_DATA_DIR): topics, offsets, the broker log.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

wipe=false
for arg in "$@"; do
  case "$arg" in
    --wipe) wipe=true ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) die "unknown argument $arg (usage: stop.sh [--wipe])" ;;
  esac
done
timeout="${KAFKA_STOP_TIMEOUT:-30}"

if pid="$(running_pid)"; then
  say "stopping the broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + timeout))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "still running after ${timeout} s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      # A killed process is gone once the kernel reaped it; wait briefly for that.
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      break
    fi
    sleep 0.2
  done
  kill -0 "$pid" 2>/dev/null && die "pid $pid survived SIGKILL"
  say "stopped"
else
  say "no broker running (no live pid in $PID_FILE)"
fi
rm -f "$PID_FILE"

if [ "$wipe" = true ]; then
  if [ -d "$KAFKA_DATA_DIR" ]; then
    say "removing $KAFKA_DATA_DIR"
    rm -rf "$KAFKA_DATA_DIR"
  fi
fi
