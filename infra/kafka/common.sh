# shellcheck shell=bash disable=SC2034 # variables used by the scripts that source this file
# Sourced by the scripts in this folder: settings (each overridable from the environment) and
# small helpers. Not meant to be run on its own.
KAFKA_VERSION=3.9.1
KAFKA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$KAFKA_DIR/../.." && pwd)"

# Jars live outside the repository and are reused between runs (and between CI runs on one machine).
CIVIC_KAFKA_HOME="${CIVIC_KAFKA_HOME:-$HOME/.cache/civic-desk/kafka-$KAFKA_VERSION}"
KAFKA_LIBS="$CIVIC_KAFKA_HOME/libs"
KAFKA_PORT="${KAFKA_PORT:-9092}"
# Address of the broker listener, and the one it advertises to clients (the controller stays on 127.0.0.1).
KAFKA_HOST="${KAFKA_HOST:-127.0.0.1}"
# The port clients are told to connect to (default KAFKA_PORT): another one puts a proxy of a test
# between every client and the broker.
KAFKA_ADVERTISED_PORT="${KAFKA_ADVERTISED_PORT:-$KAFKA_PORT}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$REPO_DIR/data/kafka}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx1g -Xms256m}"

PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
BROKER_LOG="$KAFKA_DATA_DIR/broker.log"
SERVER_PROPERTIES="$KAFKA_DATA_DIR/server.properties"
LOG4J_PROPERTIES="$KAFKA_DATA_DIR/log4j.properties"
# Kafka's own data (topic partitions and the KRaft metadata log).
KAFKA_LOG_DIRS="$KAFKA_DATA_DIR/kraft-logs"

say() { printf '[kafka] %s\n' "$*"; }
die() { printf '[kafka] ERROR: %s\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on ${2:-127.0.0.1}:$1.
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# Prints the pid from the pid file when that process is alive; fails otherwise.
running_pid() {
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # A pid is reused once its process is gone: only count it when it is still our broker
  # (or the start-kafka shell an instant before it execs java).
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq 'kafka\.Kafka|start-kafka' || return 1
  printf '%s\n' "$pid"
}

tail_log() {
  if [ -f "$BROKER_LOG" ]; then
    printf '[kafka] last lines of %s:\n' "$BROKER_LOG" >&2
    tail -n "${1:-40}" "$BROKER_LOG" >&2
  fi
}
