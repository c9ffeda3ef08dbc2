#!/usr/bin/env bash
# A MinIO server for development, tests and CI: the S3-compatible server the s3 bank is tested against.
# MinIO is AGPL: it is only ever run as a separate test server, never shipped with or linked into Bulwark.
#
#   scripts/minio-dev.sh install   # installs MinIO when missing (Go module, ~3 min)
#   scripts/minio-dev.sh start     # starts `minio server` and waits until /minio/health/live answers;
#                                  # prints the exports the tests read (BULWARK_TEST_S3_*)
#   scripts/minio-dev.sh stop
#
# Environment: MINIO_PORT (default 9000), MINIO_STATE_DIR (default .minio in the repo),
# MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (defaults for a throwaway local server; set your own elsewhere).
set -euo pipefail

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${MINIO_STATE_DIR:-$ROOT/.minio}
PORT=${MINIO_PORT:-9000}
export MINIO_ROOT_USER=${MINIO_ROOT_USER:-bulwark-dev}
export MINIO_ROOT_PASSWORD=${MINIO_ROOT_PASSWORD:-bulwark-dev-secret}
export PATH="$PATH:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

install() {
  if command -v minio >/dev/null 2>&1; then return 0; fi
  command -v go >/dev/null 2>&1 || { echo "minio-dev: Go is needed to install MinIO (apt-get install golang-go)" >&2; exit 1; }
  echo "minio-dev: installing MinIO $MINIO_VERSION (go install, a few minutes)..." >&2
  go install "github.com/minio/minio@$MINIO_VERSION"
}

healthy() {
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/minio/health/live" 2>/dev/null
}

start() {
  install
  mkdir -p "$STATE/data-$PORT"
  if healthy; then
    echo "minio-dev: a server already answers on 127.0.0.1:$PORT" >&2
  else
    # The console gets a port derived from PORT, so two instances (CI and a developer's) stay apart.
    nohup minio server "$STATE/data-$PORT" --address "127.0.0.1:$PORT" --console-address "127.0.0.1:$((PORT + 1))" --quiet \
      >"$STATE/server-$PORT.log" 2>&1 &
    echo $! >"$STATE/server-$PORT.pid"
    for _ in $(seq 1 120); do
      if healthy; then break; fi
      if ! kill -0 "$(cat "$STATE/server-$PORT.pid")" 2>/dev/null; then
        echo "minio-dev: the server exited; its log:" >&2; tail -20 "$STATE/server-$PORT.log" >&2; exit 1
      fi
      sleep 0.5
    done
    healthy || { echo "minio-dev: no healthy server on 127.0.0.1:$PORT after 60 s" >&2; exit 1; }
  fi
  # The tests create their own buckets with these credentials (test/helpers/s3.ts).
  echo "export BULWARK_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT"
  echo "export BULWARK_TEST_S3_ACCESS_KEY=$MINIO_ROOT_USER"
  echo "export BULWARK_TEST_S3_SECRET_KEY=$MINIO_ROOT_PASSWORD"
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
