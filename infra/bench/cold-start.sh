#!/usr/bin/env bash
# Cold start, size and memory of the four Lambda functions, measured on this host.
#
# Builds each function in release (host target: the figures are for this CPU, not Graviton),
# then runs it under infra/lambda-emulator with the store and the secret local
# (MOBILEID_STORE=memory, MOBILEID_SECRET_JSON from `mobileid secret generate`):
#   - cold start: process spawn → first event answered, REPEAT fresh processes, median;
#   - warm: the median invocation time of WARM events sent to one process;
#   - peak RSS of that process after the WARM events (the memory a function needs under load);
#   - the size of each release binary.
# Prints a Markdown table (for BENCHMARKS.md) and writes the raw JSON lines to $OUT.
#
# Usage: infra/bench/cold-start.sh [--no-build]
#   REPEAT=N (default 9) cold starts per function, WARM=N (default 1000) warm invocations,
#   PROFILE=debug to check the script quickly on debug builds (the figures mean nothing then).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"

REPEAT=${REPEAT:-9}
WARM=${WARM:-1000}
OUT=${OUT:-$ROOT/target/bench/cold-start}
BUILD=1
case ${1:-} in
--no-build) BUILD=0 ;;
-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
"") ;;
*) die "unknown argument: $1 (see --help)" ;;
esac

# function → the sample event it is measured with (a request each one really serves).
FUNCTIONS=(start-verification inbound-sms verify-code sign-certificate)
declare -A EVENT=(
    [start-verification]=events/start-verification-register.json
    [inbound-sms]=events/inbound-sms-nexmo-ping.json
    [verify-code]=events/verify-code-unsigned.json
    [sign-certificate]=events/sign-certificate-jwks.json
)

PROFILE=${PROFILE:-release}
case $PROFILE in
release) PROFILE_FLAG=(--release) ;;
debug) PROFILE_FLAG=() ;;
*) die "PROFILE must be release or debug" ;;
esac
RELEASE="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE"
if [[ $BUILD == 1 ]]; then
    say "building the functions, lambda-emulator and the ops tool ($PROFILE; a few minutes)"
    packages=()
    for f in "${FUNCTIONS[@]}"; do packages+=(-p "$f"); done
    cargo build "${PROFILE_FLAG[@]}" "${packages[@]}" -p lambda-emulator -p mobileid-ops
fi
for bin in lambda-emulator mobileid "${FUNCTIONS[@]}"; do
    [[ -x $RELEASE/$bin ]] || die "$RELEASE/$bin is missing (run without --no-build)"
done
for f in "${FUNCTIONS[@]}"; do
    [[ -f ${EVENT[$f]} ]] || die "sample event ${EVENT[$f]} is missing"
done

mkdir -p "$OUT"
# A Lambda refuses to start without a webhook signature secret: give it a made-up one.
SECRET=$("$RELEASE/mobileid" secret generate --stage load-stage 2>/dev/null | "$HELPER_PY" -c '
import json, sys
secret = json.load(sys.stdin)
secret["nexmo"].update(signatureSecret="cold-start-bench-only", signatureMethod="md5hash")
print(json.dumps(secret))')
ENV=(--env MOBILEID_STAGE=load-stage --env MOBILEID_STORE=memory --env MOBILEID_ALLOW_MEMORY_STORE=1 --env "MOBILEID_SECRET_JSON=$SECRET"
    --env RUST_LOG=warn)

# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
# mb KIB: the same size in MB (10^6 bytes)
mb() { awk -v k="$1" 'BEGIN {printf "%.2f", k * 1024 / 1000000}'; }
# json_field NAME: the value of "NAME": in each JSON line on stdin (numbers only)
json_field() { grep -o "\"$1\":[0-9.]*" | cut -d: -f2; }

say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n| function | release binary | cold start, median of %s (min–max) | warm invocation, median of %s | peak RSS after %s invocations |\n' "$REPEAT" "$WARM" "$WARM"
printf '|---|---|---|---|---|\n'
for f in "${FUNCTIONS[@]}"; do
    bin="$RELEASE/$f"
    size_kib=$(($(stat -c %s "$bin") / 1024))
    : >"$OUT/$f-cold.jsonl"
    for ((i = 1; i <= REPEAT; i++)); do
        "$RELEASE/lambda-emulator" --bootstrap "$bin" --function-name "$f" --event "${EVENT[$f]}" \
            "${ENV[@]}" --log "$OUT/$f.log" >>"$OUT/$f-cold.jsonl" ||
            { show_log_tail "$OUT/$f.log"; die "$f failed under the emulator (see $OUT/$f-cold.jsonl)"; }
    done
    cold=$(json_field cold_start_ms <"$OUT/$f-cold.jsonl")
    cold_median=$(median <<<"$cold")
    cold_min=$(sort -n <<<"$cold" | head -1)
    cold_max=$(sort -n <<<"$cold" | tail -1)

    "$RELEASE/lambda-emulator" --bootstrap "$bin" --function-name "$f" --event "${EVENT[$f]}" \
        --repeat "$WARM" "${ENV[@]}" --log "$OUT/$f.log" >"$OUT/$f-warm.jsonl" ||
        { show_log_tail "$OUT/$f.log"; die "$f failed under the emulator (see $OUT/$f-warm.jsonl)"; }
    warm_median=$(grep '"invocation"' "$OUT/$f-warm.jsonl" | tail -n +2 | json_field duration_ms | median)
    rss_kib=$(json_field peak_rss_kib <"$OUT/$f-warm.jsonl" | tail -1)

    printf '| %s | %s KiB (%.1f MB) | %s ms (%s–%s) | %s ms | %s KiB (%.1f MB) |\n' \
        "$f" "$size_kib" "$(mb "$size_kib")" "$cold_median" "$cold_min" "$cold_max" \
        "$warm_median" "$rss_kib" "$(mb "$rss_kib")"
done
echo
info "raw output in ${OUT#"$ROOT"/}/"
