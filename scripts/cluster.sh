#!/usr/bin/env bash
# The distributed shape on one machine, for trying it and for tests (docs/deploy.md "One machine"):
# a private Temporal dev server, a PostgreSQL catalog database, RabbitMQ queue and exchange names of
# its own, and the processes api, two protection-services, a worker and an operation-engine sharing
# one home (so one bank). The bulwark.yaml it writes is the block docs/deploy.md shows.
#
#   scripts/cluster.sh start    # prints `export BULWARK_URL=...` and `export BULWARK_TOKEN=...` (an admin token)
#   scripts/cluster.sh status   # each process running or not, and the API's /healthz
#   scripts/cluster.sh stop [--purge]   # --purge also drops the database and removes the directory
#
# Environment: BULWARK_CLUSTER_DIR (.cluster), BULWARK_NAME (bulwark-cluster), BULWARK_DB (bulwark_cluster),
# BULWARK_API_PORT (8799), TEMPORAL_PORT (7299), BULWARK_AMQP_PASSWORD (guest), PGUSER (the current user).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mkdir -p "${BULWARK_CLUSTER_DIR:-$ROOT/.cluster}" && cd "${BULWARK_CLUSTER_DIR:-$ROOT/.cluster}" && pwd)
export BULWARK_NAME=${BULWARK_NAME:-bulwark-cluster}
export BULWARK_DB=${BULWARK_DB:-bulwark_cluster}
export TEMPORAL_PORT=${TEMPORAL_PORT:-7299}
export PGUSER=${PGUSER:-$(id -un)}
export BULWARK_AMQP_PASSWORD=${BULWARK_AMQP_PASSWORD:-guest}
API_PORT=${BULWARK_API_PORT:-8799}
HOME_DIR="$DIR/home"
CLI=(node "$ROOT/bin/bulwark.js" --home "$HOME_DIR")
# In start order (docs/deploy.md): each name, then its arguments.
PROCESSES=(protection-service-1 protection-service-2 worker operation-engine api)

args_of() {
  case "$1" in
    protection-service-*) echo protection-service ;;
    api) echo "api --port $API_PORT" ;;
    *) echo "$1" ;;
  esac
}

# The database name goes into SQL: only what PostgreSQL takes unquoted.
[[ "$BULWARK_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "cluster: BULWARK_DB must be lower-case letters, digits and _" >&2; exit 2; }

psql_admin() { psql -h 127.0.0.1 -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

write_config() {
  mkdir -p "$HOME_DIR" && chmod 700 "$DIR" "$HOME_DIR"
  # The block between the markers in docs/deploy.md, its ${VARS} filled in from the environment.
  node -e '
    const text = require("fs").readFileSync(process.argv[1], "utf8");
    const block = /<!-- one-machine-config:begin -->\s*```yaml\n([\s\S]*?)```\s*<!-- one-machine-config:end -->/.exec(text);
    if (!block) { console.error("cluster: docs/deploy.md has no one-machine-config block"); process.exit(1); }
    const out = block[1].replace(/\$\{([A-Z_]+)\}/g, (_, name) => {
      if (process.env[name] === undefined) { console.error(`cluster: ${name} is not set`); process.exit(1); }
      return process.env[name];
    });
    require("fs").writeFileSync(process.argv[2], out, { mode: 0o600 });
  ' "$ROOT/docs/deploy.md" "$HOME_DIR/bulwark.yaml"
}

running() { [ -f "$DIR/pids/$1.pid" ] && kill -0 "$(cat "$DIR/pids/$1.pid")" 2>/dev/null; }

start_process() {
  local name=$1 args
  args=$(args_of "$name")
  if running "$name"; then return 0; fi
  mkdir -p "$DIR/pids" "$DIR/logs"
  # shellcheck disable=SC2086 # the arguments are words on purpose
  BULWARK_SERVICE_HOST="$(hostname)-$name" nohup "${CLI[@]}" $args >"$DIR/logs/$name.out" 2>"$DIR/logs/$name.err" &
  echo $! >"$DIR/pids/$name.pid"
  # The ready line is the process's first JSON line on stdout.
  for _ in $(seq 1 240); do
    if grep -q '^{' "$DIR/logs/$name.out" 2>/dev/null; then return 0; fi
    if ! running "$name"; then
      echo "cluster: $name exited before it was ready:" >&2; tail -20 "$DIR/logs/$name.err" >&2; exit 1
    fi
    sleep 0.25
  done
  echo "cluster: $name not ready after 60 s; see $DIR/logs/$name.err" >&2
  exit 1
}

start() {
  eval "$(TEMPORAL_STATE_DIR="$DIR/temporal" bash "$ROOT/scripts/temporal-dev.sh" start)"
  if [ -z "$(psql_admin -c "select 1 from pg_database where datname = '$BULWARK_DB'")" ]; then
    psql_admin -c "create database $BULWARK_DB" >/dev/null
  fi
  write_config
  for p in "${PROCESSES[@]}"; do start_process "$p"; done
  local token
  token=$("${CLI[@]}" -o json token create --project default --role admin --description "scripts/cluster.sh" |
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).token)')
  echo "export BULWARK_URL=http://127.0.0.1:$API_PORT"
  echo "export BULWARK_TOKEN=$token"
}

status() {
  local bad=0
  for p in "${PROCESSES[@]}"; do
    if running "$p"; then echo "$p: running (pid $(cat "$DIR/pids/$p.pid"))"; else echo "$p: not running"; bad=1; fi
  done
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://127.0.0.1:$API_PORT/healthz"; then
    echo "api /healthz: ok"
  else
    echo "api /healthz: no answer"; bad=1
  fi
  return $bad
}

stop() {
  # Reverse start order: the API first, so nothing new arrives while the rest drains.
  for ((i = ${#PROCESSES[@]} - 1; i >= 0; i--)); do
    local p=${PROCESSES[$i]}
    if running "$p"; then
      kill -TERM "$(cat "$DIR/pids/$p.pid")"
      for _ in $(seq 1 120); do running "$p" || break; sleep 0.5; done
      running "$p" && kill -KILL "$(cat "$DIR/pids/$p.pid")"
    fi
    rm -f "$DIR/pids/$p.pid"
  done
  TEMPORAL_STATE_DIR="$DIR/temporal" bash "$ROOT/scripts/temporal-dev.sh" stop
  if [ "${1:-}" = "--purge" ]; then
    psql_admin -c "drop database if exists $BULWARK_DB with (force)" >/dev/null
    rm -rf "$DIR"
  fi
}

case "${1:-}" in
  start) start ;;
  status) status ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start|status|stop [--purge]" >&2; exit 2 ;;
esac
