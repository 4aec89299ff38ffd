# Sourced by up.sh / down.sh / status.sh: the services of the distributed stack, their ports and
# where their pids and logs go. Every setting can be overridden from the environment.
STACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$STACK_DIR/../.." && pwd)"

# Shared by every service process: the event log on PostgreSQL (or, with CIVIC_EVENT_STORE=sqlite,
# one events.sqlite file on this host), one Kafka. The stack's own state (pids, logs, its master
# key, each service's files) is in CIVIC_DATA_DIR.
export CIVIC_DATA_DIR="${CIVIC_DATA_DIR:-$REPO_DIR/data/stack}"
export CIVIC_EVENT_STORE="${CIVIC_EVENT_STORE:-postgres}"
if [ "$CIVIC_EVENT_STORE" = postgres ]; then
  # The server this project's machines have (trust auth, database `test`); a schema of the stack's own.
  export CIVIC_PG_URL="${CIVIC_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
  export CIVIC_PG_SCHEMA="${CIVIC_PG_SCHEMA:-civic_stack}"
fi
export KAFKA_PORT="${KAFKA_PORT:-9092}"
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"
export LOG_LEVEL="${LOG_LEVEL:-info}"
# Kafka's data beside the stack's unless told otherwise.
export KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$CIVIC_DATA_DIR/kafka}"

RUN_DIR="$CIVIC_DATA_DIR/run"
LOG_DIR="$CIVIC_DATA_DIR/logs"
STACK_START_TIMEOUT="${STACK_START_TIMEOUT:-90}"

# name  entry point  port (default; override with e.g. INTAKE_PORT=4001)
SERVICES=(intake event-relay routing department-workflow notification dashboard)
port_of() {
  case "$1" in
    intake) echo "${INTAKE_PORT:-3001}" ;;
    routing) echo "${ROUTING_PORT:-3002}" ;;
    department-workflow) echo "${WORKFLOW_PORT:-3003}" ;;
    notification) echo "${NOTIFICATION_PORT:-3004}" ;;
    event-relay) echo "${RELAY_PORT:-3006}" ;;
    dashboard) echo "${DASHBOARD_PORT:-3005}" ;;
    *) return 1 ;;
  esac
}
entry_of() { echo "$REPO_DIR/services/$1/src/main.ts"; }
# The dashboard asks the relay for its position over HTTP.
export CIVIC_RELAY_URL="${CIVIC_RELAY_URL:-http://127.0.0.1:$(port_of event-relay)}"
# The master key of the citizens' personal data, made once for the stack (see up.sh).
MASTER_KEY_FILE="$CIVIC_DATA_DIR/master.key"

# CIVIC_PG_URL as it may be shown: without its password.
pg_url_shown() { printf '%s\n' "${CIVIC_PG_URL:-}" | sed -E 's#//([^:@/]+):[^@/]*@#//\1:***@#'; }
pid_file_of() { echo "$RUN_DIR/$1.pid"; }
log_file_of() { echo "$LOG_DIR/$1.log"; }

say() { printf '[stack] %s\n' "$*"; }

# Prints the pid of a running service started by up.sh; fails when it is not running.
running_pid() {
  local file pid
  file="$(pid_file_of "$1")"
  [ -f "$file" ] || return 1
  pid="$(cat "$file" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "services/$1/src/main.ts" || return 1
  printf '%s\n' "$pid"
}

healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$(port_of "$1")/healthz" >/dev/null 2>&1; }

# What up.sh prints last: where the read models live and a first request to try, written so it can
# be pasted into a shell as printed. A function, so a test can run the printed command. No
# apostrophe may go inside a ${VAR:-…} default here: within double quotes bash reads it as the start
# of a quoted string that runs on to the next quote, which once swallowed the closing brace.
say_hints() {
  local read_models="in the memory of the dashboard process (set REDIS_URL=redis://127.0.0.1:6379 to keep them in Redis)"
  if [ -n "${REDIS_URL:-}" ]; then read_models="$REDIS_URL"; fi
  say "read models: $read_models; dashboards on http://127.0.0.1:$(port_of dashboard)/v1/dashboards/overview (Bearer dev-operator)"
  say "try: curl -s -X POST http://127.0.0.1:$(port_of intake)/v1/requests -H 'authorization: Bearer dev-channel' -H 'content-type: application/json' -d '{\"channel\":\"web\",\"kind\":\"complaint\",\"description\":\"Sokağımızda büyük bir ÇUKUR var\",\"citizen\":{\"phone\":\"+90 532 000 00 00\"}}'"
}

# The master key of the citizens' personal data for every service of the stack: CIVIC_MASTER_KEY
# when given, else the stack's own, made once in $MASTER_KEY_FILE (owner-only) and read from there
# afterwards. Exports CIVIC_MASTER_KEY and sets KEY_NOTE (where it came from). $1 is the output of
# `postgres.mjs check` (PostgreSQL only): a key store of an earlier stack whose key file is gone
# stops the start rather than getting a new key that opens none of its keys.
stack_master_key() {
  local pg_state="${1:-}" key_store=""
  if [ -n "${CIVIC_MASTER_KEY:-}" ]; then
    KEY_NOTE="from CIVIC_MASTER_KEY in your environment"
    return 0
  fi
  if [ ! -s "$MASTER_KEY_FILE" ]; then
    if [ "$CIVIC_EVENT_STORE" = postgres ] && [[ "$pg_state" == *keys=yes* ]]; then key_store="the key store ${CIVIC_PG_SCHEMA}_privacy on $(pg_url_shown)"; fi
    if [ "$CIVIC_EVENT_STORE" = sqlite ] && [ -f "$CIVIC_DATA_DIR/keys.sqlite" ]; then key_store="the key store $CIVIC_DATA_DIR/keys.sqlite"; fi
    if [ -n "$key_store" ]; then
      say "ERROR: $key_store holds the keys of an earlier stack, but its master key ($MASTER_KEY_FILE) is gone." >&2
      say "Restore that file or give the key as CIVIC_MASTER_KEY; to start afresh instead (deleting that stack's cases): pnpm stack:down --wipe" >&2
      return 1
    fi
    mkdir -p "$CIVIC_DATA_DIR"
    # Written whole under another name, owner-only from the start, then moved into place.
    (umask 077 && node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('hex') + '\n')" >"$MASTER_KEY_FILE.tmp.$$" && mv "$MASTER_KEY_FILE.tmp.$$" "$MASTER_KEY_FILE") || return 1
    KEY_NOTE="made now in $MASTER_KEY_FILE (owner-only)"
  else
    KEY_NOTE="from $MASTER_KEY_FILE"
  fi
  chmod 600 "$MASTER_KEY_FILE"
  CIVIC_MASTER_KEY="$(tr -d '[:space:]' <"$MASTER_KEY_FILE")"
  export CIVIC_MASTER_KEY
}
