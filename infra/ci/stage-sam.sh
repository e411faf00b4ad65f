#!/usr/bin/env bash
# CI stage "sam": everything about the AWS deployment that can be checked offline.
#   1. tools   aws-sam-cli, cfn-lint, cargo-lambda and zig (PyPI) into .tools/venv-sam
#   2. lint    cfn-lint and `sam validate --lint` on template.yaml: any finding fails
#   3. build   the four Lambda bootstraps, release, x86_64 (cargo lambda build)
#   4. size    each bootstrap's size: over 10 MiB fails; verify-code and sign-certificate must
#              carry no SNS client
#   5. smoke   each bootstrap under infra/lambda-emulator with its events/ fixtures, configured
#              like the dev stack (DynamoDB store, Nexmo+SNS); prints cold start and peak RSS
# Usage: infra/ci/stage-sam.sh [--help]. Needs python3 (with venv) and cargo; no Docker, no
# AWS account, no network after the tools are installed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=infra/lib/common.sh disable=SC1091
source "$ROOT/infra/lib/common.sh"

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

VENV="$ROOT/.tools/venv-sam"
# Pinned: the versions docs/deployment.md and the template were checked with.
PY_PINS=(aws-sam-cli==1.170.0 cfn-lint==1.58.0 cargo-lambda==1.9.2 ziglang==0.17.1)
FUNCTIONS=(start-verification inbound-sms verify-code sign-certificate)
# Every bootstrap must stay within 10 MiB (the release profile in Cargo.toml is tuned for it).
TARGET_BOOTSTRAP_BYTES=$((10 * 1024 * 1024))
# Invocations per function after the cold start (for the warm durations).
WARM_REPEAT=${SAM_SMOKE_REPEAT:-30}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

# The fixtures each function gets, with the status it must answer. Only events that touch no
# AWS service: the smoke test is offline (shared/aws/tests/events.rs covers every fixture).
declare -A SMOKE=(
    [start-verification]="start-verification-discover.json:200 start-verification-lbheartbeat.json:200"
    [inbound-sms]="inbound-sms-nexmo-ping.json:200"
    [verify-code]="verify-code-unsigned.json:401"
    [sign-certificate]="sign-certificate-jwks.json:200 sign-certificate-browserid.json:200 sign-certificate-unsigned.json:401"
)

SCRATCH=""
cleanup() {
    # The scratch directory holds a generated stage secret: never leave it behind.
    [[ -n $SCRATCH && -d $SCRATCH ]] && rm -rf "$SCRATCH"
    return 0
}
trap cleanup EXIT

RUN_START=$(now_ms)

# ---------------------------------------------------------------------------------------------
step "[1/5] tools: ${PY_PINS[*]} in .tools/venv-sam"
want="${PY_PINS[*]}"
stamp="$VENV/.mobileid-pins"
if [[ -x $VENV/bin/sam && -x $VENV/bin/cargo-lambda && -f $stamp && $(cat "$stamp") == "$want" ]]; then
    info "already installed"
else
    command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || apt_install python3-venv
    python3 -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --progress-bar off "${PY_PINS[@]}"
    printf '%s\n' "$want" >"$stamp"
fi
# cargo-lambda finds zig through the venv's python3 (PyPI ziglang): the venv goes first.
export PATH="$VENV/bin:$PATH"
export SAM_CLI_TELEMETRY=0
info "$(sam --version), cfn-lint $(cfn-lint --version | awk '{print $2}'), $(cargo lambda --version)"
step_done

# ---------------------------------------------------------------------------------------------
step "[2/5] lint: cfn-lint and sam validate --lint on template.yaml"
# Exit codes of cfn-lint: 2 error, 4 warning, 8 informational; all of them fail the stage.
(cd "$ROOT" && cfn-lint template.yaml) || die "cfn-lint found problems in template.yaml (above)"
info "cfn-lint: no findings"
(cd "$ROOT" && sam validate --lint --region us-east-1 --template-file template.yaml) ||
    die "sam validate --lint failed (above)"
step_done

# ---------------------------------------------------------------------------------------------
step "[3/5] build: cargo lambda build --release --x86-64 (${FUNCTIONS[*]})"
packages=()
for f in "${FUNCTIONS[@]}"; do packages+=(-p "$f"); done
(cd "$ROOT" && cargo lambda build --release --x86-64 "${packages[@]}") ||
    die "cargo lambda build failed (above)"
step_done

# ---------------------------------------------------------------------------------------------
step "[4/5] size: each bootstrap must stay under $((TARGET_BOOTSTRAP_BYTES / 1024 / 1024)) MiB"
declare -A SIZE=()
oversized=()
for f in "${FUNCTIONS[@]}"; do
    bootstrap="$TARGET_DIR/lambda/$f/bootstrap"
    [[ -x $bootstrap ]] || die "$bootstrap is missing after the build"
    SIZE[$f]=$(stat -c %s "$bootstrap")
    printf '    %-20s %9d bytes (%s MiB)\n' "$f" "${SIZE[$f]}" \
        "$(awk -v b="${SIZE[$f]}" 'BEGIN { printf "%.2f", b / 1048576 }')"
    ((SIZE[$f] > TARGET_BOOTSTRAP_BYTES)) && oversized+=("$f")
done
((${#oversized[@]} == 0)) ||
    die "over $((TARGET_BOOTSTRAP_BYTES / 1024 / 1024)) MiB: ${oversized[*]} (the release profile in Cargo.toml sets what shrinks them)"
# A function that sends no SMS links no SMS client: none of the SNS sender's strings (its
# message attribute, the SNS API version) in its bootstrap, where the senders have them.
sns_marks() { grep -c -a -e 'AWS.SNS.SMS.SMSType' -e 'Version=2010-03-31' "$1" || true; }
for f in start-verification inbound-sms; do
    (($(sns_marks "$TARGET_DIR/lambda/$f/bootstrap") > 0)) || die "$f: the SNS client's strings are not where they should be (the check below would prove nothing)"
done
for f in verify-code sign-certificate; do
    (($(sns_marks "$TARGET_DIR/lambda/$f/bootstrap") == 0)) || die "$f links the SNS client, which it never calls"
done
info "start-verification and inbound-sms link SNS; verify-code and sign-certificate do not"
step_done

# ---------------------------------------------------------------------------------------------
step "[5/5] smoke: each bootstrap under the Lambda emulator (1 cold + $WARM_REPEAT warm rounds)"
(cd "$ROOT" && cargo build --quiet -p lambda-emulator -p mobileid-ops) || die "building the emulator failed"
emulator="$TARGET_DIR/debug/lambda-emulator"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/mobileid-stage-sam.XXXXXX")
chmod 700 "$SCRATCH"

# A dev-stage secret with stand-in Nexmo values: a Lambda refuses to start without them.
"$TARGET_DIR/debug/mobileid" secret generate --stage dev 2>/dev/null |
    "$VENV/bin/python" -c '
import json, sys
secret = json.load(sys.stdin)
secret["nexmo"].update(apiKey="smoke-key", apiSecret="smoke-secret",
                       signatureSecret="smoke-signature-secret", signatureMethod="sha256")
print(json.dumps(secret))' >"$SCRATCH/secret.json"

# The dev stack's environment (template.yaml Globals), minus what needs AWS: the secret comes
# inline, and every AWS endpoint is a closed local port, so nothing can leave this machine.
common_env=(
    --env MOBILEID_STAGE=dev
    --env MOBILEID_PUBLIC_URL=https://mobileid-dev.example.org
    --env MOBILEID_ISSUER=mobileid-dev.example.org
    --env MOBILEID_STORE=dynamodb
    --env MOBILEID_SESSIONS_TABLE=mobileid-dev-sessions
    --env MOBILEID_COUNTERS_TABLE=mobileid-dev-counters
    --env "MOBILEID_SECRET_JSON=$(cat "$SCRATCH/secret.json")"
    --env RUST_LOG=info
    --env AWS_ACCESS_KEY_ID=smoke
    --env AWS_SECRET_ACCESS_KEY=smoke
    --env AWS_ENDPOINT_URL=http://127.0.0.1:9
)

failed=0
for f in "${FUNCTIONS[@]}"; do
    args=(--bootstrap "$TARGET_DIR/lambda/$f/bootstrap" --repeat "$((WARM_REPEAT + 1))"
        --memory 256 --log "$SCRATCH/$f.log")
    for spec in ${SMOKE[$f]}; do
        args+=(--event "$ROOT/events/${spec%%:*}" --expect-status "${spec##*:}")
    done
    extra=()
    [[ $f == inbound-sms ]] && extra=(--env MOBILEID_FAKE_SMS_TOKEN=smoke-token)
    rc=0
    "$emulator" "${args[@]}" "${common_env[@]}" "${extra[@]}" >"$SCRATCH/$f.jsonl" || rc=$?
    # One line per function: the measurements, and a check that the logs still have the JSON
    # shape the template's metric filters match ({"level":..,"fields":{"message":..}}).
    "$VENV/bin/python" - "$f" "$SCRATCH/$f.jsonl" "$SCRATCH/$f.log" "${SIZE[$f]}" <<'EOF' || rc=1
import json, statistics, sys
name, results, log, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lines = [json.loads(l) for l in open(results) if l.strip()]
summary = lines[-1]["summary"]
calls = lines[:-1]
bad = [c for c in calls if c.get("error") or c.get("failure")]
for c in bad[:3]:
    print(f"    {name}: invocation {c['invocation']} ({c['event']}): {c.get('failure') or c.get('error')}")
warm = [c["duration_ms"] for c in calls[1:] if "duration_ms" in c]
median = f"{statistics.median(warm):.2f}" if warm else "-"
shape_ok = False
for line in open(log):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if entry.get("level") == "INFO" and entry.get("fields", {}).get("message") == "cold start complete":
        shape_ok = True
rss = summary.get("peak_rss_kib") or 0
print(f"    {name:<20} status {'ok' if not bad else 'FAILED'}  cold start {summary.get('cold_start_ms')} ms"
      f" (init {summary.get('init_ms')} ms, CPU {summary.get('cold_start_cpu_ms')} ms)"
      f"  warm median {median} ms over {len(warm)}"
      f"  peak RSS {rss / 1024:.1f} MiB  size {size / 1048576:.2f} MiB")
if not shape_ok:
    print(f"    {name}: no JSON log line {{\"level\":\"INFO\",\"fields\":{{\"message\":\"cold start complete\"}}}}:"
          " the metric filters of template.yaml would match nothing")
sys.exit(1 if bad or not shape_ok or summary.get("failed") else 0)
EOF
    if [[ $rc -ne 0 ]]; then
        failed=1
        show_log_tail "$SCRATCH/$f.log" 20
    fi
done
((failed == 0)) || die "a function failed its smoke test (above)"
step_done

say "stage sam ok in $(fmt_ms $(($(now_ms) - RUN_START)))"
