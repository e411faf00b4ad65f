#!/usr/bin/env bash
# CI stage "stack": the deployed shape on this machine, short. The four release bootstraps the
# sam stage built ($CARGO_TARGET_DIR/lambda, or target/lambda) run under mobileid-stack
# (infra/lambda-emulator) as instance pools behind template.yaml's routes, on DynamoDB Local
# (the servers stage's, $AWS_ENDPOINT_URL_DYNAMODB):
#   1. tests   cargo test -p lambda-emulator --test stack: every template route reaches the
#              function whose router serves it (and the reverse); a crash answers 502; an
#              instance SIGKILLed mid-invocation loses nothing, for each function (incl. the
#              verify_code retry); a DynamoDB outage answers 503/201 and loses no session
#   2. load    mobileid-loadtest through the stack, both path sets (STACK_LOAD_DURATION, 3s)
#   3. burst   STACK_BURST flows (default 40) at once from zero instances: cold starts
# Any unexpected answer fails. Usage: infra/ci/stage-stack.sh [--help].
# infra/bench/stack.sh runs the full version (BENCHMARKS.md).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"
# shellcheck source=infra/lib/stack.sh
source "$ROOT/infra/lib/stack.sh"

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BOOTSTRAPS=${MOBILEID_STACK_BOOTSTRAPS:-$TARGET_DIR/lambda}
DURATION=${STACK_LOAD_DURATION:-3s}
BURST=${STACK_BURST:-40}
LOGS="$ROOT/.tools/logs"
mkdir -p "$LOGS"
for f in start-verification inbound-sms verify-code sign-certificate; do
    [[ -x $BOOTSTRAPS/$f/bootstrap ]] ||
        die "$BOOTSTRAPS/$f/bootstrap is missing: the sam stage builds it (infra/test.sh --only sam)"
done
[[ -n ${AWS_ENDPOINT_URL_DYNAMODB:-} ]] ||
    die "AWS_ENDPOINT_URL_DYNAMODB is not set: the servers stage starts DynamoDB Local"

stack_scratch mobileid-stage-stack
RUN_START=$(now_ms)

step "[1/3] tests: cargo test -p lambda-emulator --test stack (bootstraps from ${BOOTSTRAPS#"$ROOT"/})"
export MOBILEID_STACK_BOOTSTRAPS=$BOOTSTRAPS MOBILEID_REQUIRE_STACK=1
run_child cargo test -q -p lambda-emulator --test stack -- --test-threads 2 ||
    die "a stack test failed (above)"
run_child cargo build -q -p lambda-emulator -p mobileid-loadtest || die "building failed"
step_done

step "[2/3] load: mobileid-loadtest through mobileid-stack, $DURATION per path set"
start_stack "$TARGET_DIR/debug/mobileid-stack" "$BOOTSTRAPS" "$LOGS/stack.log"
loadtest="$TARGET_DIR/debug/mobileid-loadtest"
stack_loadtest "$loadtest" v1 --users 4 --duration "$DURATION" ||
    die "the load test (v1 paths) through the stack saw unexpected answers"
stack_loadtest "$loadtest" original --users 4 --duration "$DURATION" ||
    die "the load test (original paths) through the stack saw unexpected answers"
stack_report
step_done

step "[3/3] burst: $BURST flows at once from zero instances"
stack_burst "$loadtest" "$BURST"
stop_server mobileid-stack
step_done

say "stage stack ok in $(fmt_ms $(($(now_ms) - RUN_START)))"
