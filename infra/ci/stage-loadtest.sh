#!/usr/bin/env bash
# CI smoke run of the load test: builds mobileid-local, mobileid-loadtest and the ops tool
# (debug), starts the local server with MOBILEID_STAGE=load-stage on a free loopback port with
# a secret that turns the webhook's signature check on, runs a few users for a few seconds
# through the whole scenario (SMS-MT and signed SMS-MO+MT webhooks, right and wrong codes,
# certificates), once with each path set (`--paths v1` and `--paths original`), and fails on any
# unexpected answer. The server is always stopped on exit.
#
# Not a performance measurement (debug build, shared CI machine): BENCHMARKS.md says how to
# measure. Tunable: LOADTEST_USERS (default 4), LOADTEST_DURATION (default 3s).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"

USERS=${LOADTEST_USERS:-4}
DURATION=${LOADTEST_DURATION:-3s}
LOGS="$ROOT/.tools/logs"
SERVER_START_TIMEOUT=${SERVER_START_TIMEOUT:-30}
mkdir -p "$LOGS"

stop_servers_on_exit

say "loadtest smoke: building mobileid-local, mobileid-loadtest and the ops tool (debug)"
run_child cargo build -p mobileid-local -p mobileid-loadtest -p mobileid-ops
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
for bin in mobileid-local mobileid-loadtest mobileid; do
    [[ -x $BIN/$bin ]] || die "$BIN/$bin missing after cargo build"
done

# A fresh stage secret with a webhook signature secret: the server then refuses unsigned or
# badly signed callbacks, so the run also proves the load test signs them right.
SIGNATURE_SECRET=$("$HELPER_PY" -c 'import secrets; print(secrets.token_hex(16))')
SIGNATURE_METHOD=sha256
SECRET_JSON=$("$BIN/mobileid" secret generate --stage load-stage 2>/dev/null |
    SIG="$SIGNATURE_SECRET" METHOD="$SIGNATURE_METHOD" "$HELPER_PY" -c '
import json, os, sys
secret = json.load(sys.stdin)
secret["nexmo"].update(signatureSecret=os.environ["SIG"], signatureMethod=os.environ["METHOD"])
print(json.dumps(secret))')

port=$(free_port 127.0.0.1)
url="http://127.0.0.1:$port"
log="$LOGS/loadtest-server.log"
# RUST_LOG=warn: the server's per-request info lines would only slow the run down.
export MOBILEID_SECRET_JSON="$SECRET_JSON" # through the environment, not the command line
start_server mobileid-local "$log" "$ROOT" env MOBILEID_STAGE=load-stage RUST_LOG=warn \
    "$BIN/mobileid-local" --listen "127.0.0.1:$port"
wait_http_ok mobileid-local "$LAST_SERVER_PID" "$url/__lbheartbeat__" "$log" "$SERVER_START_TIMEOUT"

export LOADTEST_SIGNATURE_SECRET="$SIGNATURE_SECRET" # the environment keeps it out of `ps`
# Both path sets: ours (/v1/..., a P-256 JWK) and the original's clients' (unprefixed paths,
# its webhook path and SMS text, a DSA key as a JSON string), which proves the aliases.
for paths in v1 original; do
    say "loadtest smoke ($paths paths): $USERS users for $DURATION against $url (load-stage, in-memory store, signed webhooks)"
    rc=0
    run_child "$BIN/mobileid-loadtest" --base-url "$url" --paths "$paths" \
        --users "$USERS" --duration "$DURATION" --ramp-up 500ms --timeout 5s \
        --signature-method "$SIGNATURE_METHOD" || rc=$?
    if [[ $rc -ne 0 ]]; then
        show_log_tail "$log" 60
        die "the load test ($paths paths) saw unexpected answers (exit code $rc); see the table above"
    fi
done
stop_server mobileid-local
say "loadtest smoke ok"
