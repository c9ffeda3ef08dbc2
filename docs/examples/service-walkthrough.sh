#!/usr/bin/env bash
# The service walkthrough of README.md; test/e2e/service-walkthrough.test.ts runs this very file.
set -euo pipefail
: "${BULWARK_HOME:=$(mktemp -d)}"; export BULWARK_HOME
BULWARK=${BULWARK_BIN:-node_modules/.bin/bulwark}
bulwark() { node "$BULWARK" "$@"; }
# Reads a field (a.b.c) from the JSON document on stdin.
field() { node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v[k];console.log(v)})' "$1"; }
FS=cf56bd3e-97a7-4078-b6d5-f36246333fd9   # the built-in fs-directory provider
WORK=$(mktemp -d)
mkdir -p "$WORK/site/img" && echo '<h1>hello</h1>' > "$WORK/site/index.html" && head -c 100000 /dev/urandom > "$WORK/site/img/logo.bin"

# 0. What project "demo" may protect and restore into (docs/security.md "Resource scopes"): in service
#    mode a member token can use only its project's scope, and nothing without one. Three lines:
(umask 077 && mkdir -p "$BULWARK_HOME")
printf 'scopes:\n  demo:\n    fs.directory: {protect: ["%s"], restore: ["%s"]}\n' "$WORK" "$WORK" >> "$BULWARK_HOME/bulwark.yaml"

# 1. Start the all-in-one service (REST API + local engine + SQLite catalog + fs bank).
#    --port 0 picks a free port; it prints {"url": ..., "pid": ...} once it listens.
node "$BULWARK" serve --port 0 > "$WORK/serve.json" & SERVE_PID=$!
trap 'kill $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null || true' EXIT
until [ -s "$WORK/serve.json" ]; do sleep 0.1; done
URL=$(field url < "$WORK/serve.json")

# 2. A token for project "demo". The secret is shown once; keep it out of command lines:
#    curl reads it from a header file, the CLI from $BULWARK_TOKEN.
TOKEN=$(bulwark -o json token create --project demo --role member | field token)
printf 'X-Auth-Token: %s\nContent-Type: application/json\n' "$TOKEN" > "$WORK/headers"
api() { curl -sS --fail-with-body -H @"$WORK/headers" "$@"; }

# 3. With curl: a plan, a protect, wait until the checkpoint is available, restore it.
PLAN=$(api -d "{\"plan\": {\"name\": \"site\", \"provider_id\": \"$FS\", \"resources\": [{\"type\": \"fs.directory\", \"id\": \"$WORK/site\"}]}}" \
  "$URL/v1/demo/plans" | field plan.id)
CHECKPOINT=$(api -d "{\"checkpoint\": {\"plan_id\": \"$PLAN\"}}" "$URL/v1/demo/providers/$FS/checkpoints" | field checkpoint.id)
until [ "$(api "$URL/v1/demo/providers/$FS/checkpoints/$CHECKPOINT" | field checkpoint.status)" = available ]; do sleep 0.2; done
RESTORE=$(api -d "{\"restore\": {\"checkpoint_id\": \"$CHECKPOINT\", \"parameters\": {\"fs.directory\": {\"target_path\": \"$WORK/restored-by-curl\"}}}}" \
  "$URL/v1/demo/restores" | field restore.id)
until [ "$(api "$URL/v1/demo/restores/$RESTORE" | field restore.status)" = success ]; do sleep 0.2; done
diff -r "$WORK/site" "$WORK/restored-by-curl" && echo "curl: restored tree is identical"

# 4. The same with the CLI talking to the server: identical commands and output.
export BULWARK_URL=$URL BULWARK_TOKEN=$TOKEN
CHECKPOINT2=$(bulwark -o json checkpoint create --plan "$PLAN" | field id)
bulwark checkpoint list --plan "$PLAN"
bulwark -o json restore create --checkpoint "$CHECKPOINT2" \
  --parameters "{\"fs.directory\": {\"target_path\": \"$WORK/restored-by-cli\"}}" | field status
bulwark -o json verification create --checkpoint "$CHECKPOINT2" | field status
diff -r "$WORK/site" "$WORK/restored-by-cli" && echo "cli: restored tree is identical"
