#!/usr/bin/env bash
# Runs the load test against load-stage and writes its --json summary.
#   infra/release/loadtest.sh OUT.json [--duration 5m] [--users 32] [--dry-run]
# The fake gateway's token and the webhook's signature secret are read from the stack (never
# from the command line): FakeSmsTokenArn's secret, and nexmo.signatureSecret of the stage
# secret. Only load-stage: its SMS go to the fake gateway, never to phones.
# --dry-run runs the same load test, for a few seconds, against a local mobileid-local with
# the load-stage table instead (no AWS), so that the summary and the next steps are real.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

OUT="" DURATION=5m USERS=32
while [[ $# -gt 0 ]]; do
    case $1 in
    -h | --help) usage_from_header "$0"; exit 0 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --duration) DURATION=$2; shift 2 ;;
    --users) USERS=$2; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) OUT=$1; shift ;;
    esac
done
[[ -n $OUT ]] || die "where to write the summary? (see --help)"
cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

if [[ $DRY_RUN == 1 ]]; then
    say "load test (dry run): mobileid-local with the load-stage table, 3 s"
    cargo build --quiet -p mobileid-local -p mobileid-loadtest
    port=$(free_port)
    log=$(mktemp "${TMPDIR:-/tmp}/mobileid-release-local.XXXXXX")
    MOBILEID_STAGE=load-stage "$TARGET_DIR/debug/mobileid-local" --listen "127.0.0.1:$port" >"$log" 2>&1 &
    pid=$!
    trap 'kill "$pid" 2>/dev/null; rm -f "$log"' EXIT
    wait_http_ok mobileid-local "$pid" "http://127.0.0.1:$port/__lbheartbeat__" "$log" 30
    "$TARGET_DIR/debug/mobileid-loadtest" --base-url "http://127.0.0.1:$port" \
        --users 4 --duration 3s --store-phase-flows 0 --quiet --json >"$OUT"
    info "summary in $OUT"
    exit 0
fi

say "load test of load-stage ($USERS users, $DURATION)"
base=$(stack_output load-stage PublicUrl)
sms_url=$(stack_output load-stage FakeSmsReceiveUrl)
webhook=$(stack_output load-stage InboundSmsWebhookUrl)
token_arn=$(stack_output load-stage FakeSmsTokenArn)
secret_arn=$(stack_output load-stage ServiceSecretArn)
LOADTEST_SMS_TOKEN=$(aws secretsmanager get-secret-value --secret-id "$token_arn" --query SecretString --output text)
LOADTEST_SIGNATURE_SECRET=$(aws secretsmanager get-secret-value --secret-id "$secret_arn" --query SecretString --output text |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["nexmo"]["signatureSecret"])')
export LOADTEST_SMS_TOKEN LOADTEST_SIGNATURE_SECRET
cargo build --quiet --release -p mobileid-loadtest
"$TARGET_DIR/release/mobileid-loadtest" --allow-remote --base-url "$base" \
    --sms-url "$sms_url" --webhook-url "$webhook" --signature-method sha256 \
    --users "$USERS" --duration "$DURATION" --quiet --json >"$OUT"
info "summary in $OUT"
