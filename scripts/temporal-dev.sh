#!/usr/bin/env bash
# A Temporal dev server for development, tests and CI (there is no Temporal server on npm).
#
#   scripts/temporal-dev.sh install   # installs the Temporal CLI when missing (Go module, ~3.5 min)
#   scripts/temporal-dev.sh start     # starts `temporal server start-dev` and waits until it is healthy;
#                                     # prints `export TEMPORAL_ADDRESS=127.0.0.1:<port>`
#   scripts/temporal-dev.sh stop
#
# Environment: TEMPORAL_PORT (default 7233), TEMPORAL_STATE_DIR (default .temporal in the repo).
# v1.5.1 is the last CLI release installable with `go install` (later ones use a replace directive).
set -euo pipefail

TEMPORAL_CLI_VERSION=v1.5.1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${TEMPORAL_STATE_DIR:-$ROOT/.temporal}
PORT=${TEMPORAL_PORT:-7233}
export PATH="$PATH:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

install() {
  if command -v temporal >/dev/null 2>&1; then return 0; fi
  command -v go >/dev/null 2>&1 || { echo "temporal-dev: Go is needed to install the Temporal CLI (apt-get install golang-go)" >&2; exit 1; }
  echo "temporal-dev: installing the Temporal CLI $TEMPORAL_CLI_VERSION (go install, a few minutes)..." >&2
  go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
}

healthy() {
  temporal operator cluster health --address "127.0.0.1:$PORT" >/dev/null 2>&1
}

start() {
  install
  mkdir -p "$STATE"
  if healthy; then
    echo "temporal-dev: a server already answers on 127.0.0.1:$PORT" >&2
  else
    # Headless (no UI); SQLite in WAL mode so the dev server survives our test load; its other ports are
    # derived from PORT to keep two instances (CI and a developer's) apart.
    nohup temporal server start-dev --headless --ip 127.0.0.1 --port "$PORT" --http-port $((PORT + 10)) --metrics-port $((PORT + 20)) \
      --db-filename "$STATE/dev-$PORT.db" --sqlite-pragma journal_mode=WAL --log-level warn \
      >"$STATE/server-$PORT.log" 2>&1 &
    echo $! >"$STATE/server-$PORT.pid"
    for _ in $(seq 1 120); do
      if healthy; then break; fi
      if ! kill -0 "$(cat "$STATE/server-$PORT.pid")" 2>/dev/null; then
        echo "temporal-dev: the server exited; its log:" >&2; tail -20 "$STATE/server-$PORT.log" >&2; exit 1
      fi
      sleep 0.5
    done
    healthy || { echo "temporal-dev: no healthy server on 127.0.0.1:$PORT after 60 s" >&2; exit 1; }
  fi
  echo "export TEMPORAL_ADDRESS=127.0.0.1:$PORT"
}

stop() {
  if [ -f "$STATE/server-$PORT.pid" ]; then
    kill "$(cat "$STATE/server-$PORT.pid")" 2>/dev/null || true
    rm -f "$STATE/server-$PORT.pid"
  fi
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
