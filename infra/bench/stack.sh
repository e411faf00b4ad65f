#!/usr/bin/env bash
# The deployed shape's figures of BENCHMARKS.md ("Through the stack"), in one command: the four
# release bootstraps (cargo lambda's target/lambda; built first unless --no-build) under
# mobileid-stack on DynamoDB Local (installed into .tools/dynamodb if missing; needs Java 17+):
#   1. load    mobileid-loadtest (release) through the stack, --paths v1 then original,
#              STACK_USERS users (16) for STACK_DURATION (60s) each, with the runner's
#              per-function cold starts / instances and per-route p50/p99 (cold and warm)
#   2. burst   STACK_BURST flows (200) at once from zero instances: cold starts per function,
#              the burst's p99
#   3. faults  the fault scenarios of infra/lambda-emulator/tests/stack.rs at full length (a
#              10 s DynamoDB outage, a SIGKILL per function, SMS providers down and slow)
# Usage: infra/bench/stack.sh [--no-build] [--help]. Everything it starts is stopped on exit.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"
# shellcheck source=infra/lib/stack.sh
source "$ROOT/infra/lib/stack.sh"

BUILD=1
while [[ $# -gt 0 ]]; do
    case $1 in
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
done
USERS=${STACK_USERS:-16}
DURATION=${STACK_DURATION:-60s}
BURST=${STACK_BURST:-200}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BOOTSTRAPS=${MOBILEID_STACK_BOOTSTRAPS:-$TARGET_DIR/lambda}
LOGS="$ROOT/.tools/logs"
mkdir -p "$LOGS"
stack_scratch mobileid-bench-stack

if [[ $BUILD == 1 ]]; then
    say "building the bootstraps (cargo lambda build --release --x86-64), the runner and the load test"
    command -v cargo-lambda >/dev/null || export PATH="$ROOT/.tools/venv-sam/bin:$PATH"
    run_child cargo lambda build --release --x86-64 -p start-verification -p inbound-sms \
        -p verify-code -p sign-certificate --lambda-dir "$BOOTSTRAPS"
    run_child cargo build --release -p mobileid-loadtest
    run_child cargo build -p lambda-emulator
fi
for f in start-verification inbound-sms verify-code sign-certificate; do
    [[ -x $BOOTSTRAPS/$f/bootstrap ]] || die "$BOOTSTRAPS/$f/bootstrap is missing (run without --no-build)"
done
start_dynamodb_local "$ROOT/.tools/dynamodb" "$LOGS/bench-stack-dynamodb.log"

start_stack "$TARGET_DIR/debug/mobileid-stack" "$BOOTSTRAPS" "$LOGS/bench-stack.log" --max-instances 32
loadtest="$TARGET_DIR/release/mobileid-loadtest"

for paths in v1 original; do
    say "load ($paths paths): $USERS users for $DURATION through the stack"
    stack_report --save "$SCRATCH/before.json"
    stack_loadtest "$loadtest" "$paths" --users "$USERS" --duration "$DURATION" --ramp-up 2s ||
        die "unexpected answers through the stack ($paths paths)"
    stack_report --since "$SCRATCH/before.json"
done

say "burst: $BURST flows at once from zero instances"
stack_burst "$loadtest" "$BURST"
stop_server mobileid-stack

say "faults: the stack scenarios at full length (a 10 s DynamoDB outage)"
export MOBILEID_STACK_BOOTSTRAPS=$BOOTSTRAPS MOBILEID_REQUIRE_STACK=1 STACK_OUTAGE_SECS=10
run_child cargo test -q -p lambda-emulator --test stack -- --nocapture --test-threads 1 ||
    die "a fault scenario failed (above)"
say "bench stack ok"
