#!/usr/bin/env bash
# Cold start, size and memory of the four Lambda functions, beside the floor: a minimal
# lambda_http bootstrap (infra/bench/minimal-bootstrap) built and measured in the same run.
#
# Each function runs its release binary under infra/lambda-emulator on the production stage,
# with the DynamoDB store configured and pointed at DynamoDB Local (started here), and a first
# request that does real work, the parsing of a phone number included
# (infra/bench/cold_start_events.py prepares the sessions it needs through a mobileid-local on
# the same tables). Rounds alternate the fixture and the four functions, so all five see the
# same machine load.
#   - cold start: process spawn → first event answered, REPEAT fresh processes, median, and its
#     ratio to the fixture's median (the goal: at most 3×);
#   - warm: the median invocation time of WARM sample events sent to one process;
#   - peak RSS of that process after the WARM events;
#   - the size of each release binary.
# Prints a Markdown table (for BENCHMARKS.md) and writes the raw JSON lines to $OUT.
#
# Usage: infra/bench/cold-start.sh [--no-build]
#   REPEAT=N (default 9) cold starts per function, WARM=N (default 500) warm invocations.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"

REPEAT=${REPEAT:-9}
WARM=${WARM:-500}
OUT=${OUT:-$ROOT/target/bench/cold-start}
BUILD=1
case ${1:-} in
--no-build) BUILD=0 ;;
-h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
"") ;;
*) die "unknown argument: $1 (see --help)" ;;
esac

FIXTURE=minimal-bootstrap
FUNCTIONS=(start-verification inbound-sms verify-code sign-certificate)
# function → the sample event its warm invocations use.
declare -A WARM_EVENT=(
    [minimal-bootstrap]=events/start-verification-discover.json
    [start-verification]=events/start-verification-register.json
    [inbound-sms]=events/inbound-sms-nexmo-ping.json
    [verify-code]=events/verify-code-unsigned.json
    [sign-certificate]=events/sign-certificate-jwks.json
)
# function → the status its prepared first request must get (proof that it did the work).
declare -A FIRST_STATUS=(
    [start-verification]=200
    [verify-code]=200
    [sign-certificate]=200
    [inbound-sms]=200
)
RELEASE="${CARGO_TARGET_DIR:-$ROOT/target}/release"
LOGS="$ROOT/.tools/logs"
VENV_PY="$ROOT/.tools/venv/bin/python"
PUBLIC_URL=https://mobileid-bench.example.org
TABLES=(--env MOBILEID_SESSIONS_TABLE=mobileid-bench-sessions --env MOBILEID_COUNTERS_TABLE=mobileid-bench-counters)
mkdir -p "$OUT" "$LOGS"

stop_servers_on_exit

if [[ $BUILD == 1 ]]; then
    say "building the functions, the fixture, lambda-emulator, mobileid-local and the ops tool (release; a few minutes)"
    packages=()
    for f in "${FUNCTIONS[@]}" "$FIXTURE"; do packages+=(-p "$f"); done
    run_child cargo build --release "${packages[@]}" -p lambda-emulator -p mobileid-ops \
        -p mobileid-local --features mobileid-local/dynamodb
fi
for bin in lambda-emulator mobileid mobileid-local "$FIXTURE" "${FUNCTIONS[@]}"; do
    [[ -x $RELEASE/$bin ]] || die "$RELEASE/$bin is missing (run without --no-build)"
done
if [[ ! -x $VENV_PY ]] || ! "$VENV_PY" -c 'import mohawk, requests' 2>/dev/null; then
    say "installing the Python tools (mohawk, requests) with infra/test.sh --only tools"
    bash "$ROOT/infra/test.sh" --only tools >/dev/null
fi

start_dynamodb_local "$ROOT/.tools/dynamodb" "$LOGS/cold-start-dynamodb-local.log"

# The stage secret: Nexmo credentials (for the fake Nexmo below) and the webhook signature
# secret the prepared callbacks are signed with.
"$RELEASE/mobileid" secret generate --stage production 2>/dev/null | "$VENV_PY" -c '
import json, sys
secret = json.load(sys.stdin)
secret["nexmo"].update(apiKey="bench", apiSecret="bench", signatureSecret="cold-start-bench-only",
                       signatureMethod="sha256")
print(json.dumps(secret))' >"$OUT/secret.json"
SECRET=$(cat "$OUT/secret.json")

# A mobileid-local on the same tables and secret prepares the sessions (load-stage limits: it
# registers a few dozen sessions from one address in a few seconds).
prep_port=$(free_port 127.0.0.1)
MOBILEID_STAGE=load-stage MOBILEID_STORE=dynamodb MOBILEID_PUBLIC_URL=http://127.0.0.1:$prep_port \
    MOBILEID_SESSIONS_TABLE=mobileid-bench-sessions MOBILEID_COUNTERS_TABLE=mobileid-bench-counters \
    MOBILEID_SECRET_JSON=$SECRET RUST_LOG=warn \
    start_server mobileid-local "$LOGS/cold-start-prep.log" "$ROOT" "$RELEASE/mobileid-local" \
    --listen "127.0.0.1:$prep_port"
wait_http_ok mobileid-local "$LAST_SERVER_PID" "http://127.0.0.1:$prep_port/__lbheartbeat__" \
    "$LOGS/cold-start-prep.log" 60

# Nexmo's SMS API, answering every SMS as sent: the inbound function's first request replies
# with the code by SMS, and a refused connection would measure the failover's retries instead.
nexmo_port=$(free_port 127.0.0.1)
start_server fake-nexmo "$LOGS/cold-start-fake-nexmo.log" "$ROOT" "$VENV_PY" -c '
import http.server, json, sys
class Nexmo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"message-count": "1", "messages": [
            {"status": "0", "message-id": "0A0000000123ABCD1"}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Nexmo).serve_forever()' "$nexmo_port"
wait_tcp fake-nexmo "$LAST_SERVER_PID" "$nexmo_port" "$LOGS/cold-start-fake-nexmo.log" 30

ENV=(--env MOBILEID_STAGE=production --env MOBILEID_STORE=dynamodb "${TABLES[@]}"
    --env "MOBILEID_PUBLIC_URL=$PUBLIC_URL" --env "MOBILEID_SECRET_JSON=$SECRET"
    --env "AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB" --env AWS_REGION
    --env AWS_ACCESS_KEY_ID --env AWS_SECRET_ACCESS_KEY
    --env AWS_ENDPOINT_URL_SNS=http://127.0.0.1:9 --env "MOBILEID_NEXMO_URL=http://127.0.0.1:$nexmo_port/sms/json"
    --env MOBILEID_SENDER_NANP_MT=+12025550300 --env MOBILEID_SENDER_NANP_MO=+12025550301
    --env RUST_LOG=warn)

# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
# mb KIB: the same size in MB (10^6 bytes)
mb() { awk -v k="$1" 'BEGIN {printf "%.2f", k * 1024 / 1000000}'; }
# json_field NAME: the value of "NAME": in each JSON line on stdin (numbers only)
json_field() { grep -o "\"$1\":[0-9.]*" | cut -d: -f2; }

say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "preparing $REPEAT first requests per function (sessions, codes, signed callbacks)"
rm -rf "$OUT/events"
run_child "$VENV_PY" "$ROOT/infra/bench/cold_start_events.py" --prep-url "http://127.0.0.1:$prep_port" \
    --public-url "$PUBLIC_URL" --secret "$OUT/secret.json" --count "$REPEAT" --out "$OUT/events"

say "cold starts: $REPEAT rounds of the fixture and the four functions"
for f in "$FIXTURE" "${FUNCTIONS[@]}"; do : >"$OUT/$f-cold.jsonl"; done
for ((i = 1; i <= REPEAT; i++)); do
    for f in "$FIXTURE" "${FUNCTIONS[@]}"; do
        event="$OUT/events/$f-$i.json"
        [[ $f == "$FIXTURE" ]] && event="$OUT/events/start-verification-$i.json"
        expect=()
        [[ -n ${FIRST_STATUS[$f]:-} ]] && expect=(--expect-status "${FIRST_STATUS[$f]}")
        "$RELEASE/lambda-emulator" --bootstrap "$RELEASE/$f" --function-name "$f" --event "$event" \
            "${expect[@]}" "${ENV[@]}" --log "$OUT/$f.log" >>"$OUT/$f-cold.jsonl" ||
            { show_log_tail "$OUT/$f.log"; tail -1 "$OUT/$f-cold.jsonl"; die "$f: its first request failed under the emulator"; }
    done
done

fixture_median=$(json_field cold_start_ms <"$OUT/$FIXTURE-cold.jsonl" | median)
printf '\n| binary | release size | cold start, median of %s (min–max) | ÷ fixture | warm invocation, median of %s | peak RSS after %s invocations |\n' "$REPEAT" "$WARM" "$WARM"
printf '|---|---|---|---|---|---|\n'
over=()
for f in "$FIXTURE" "${FUNCTIONS[@]}"; do
    size_kib=$(($(stat -c %s "$RELEASE/$f") / 1024))
    cold=$(json_field cold_start_ms <"$OUT/$f-cold.jsonl")
    cold_median=$(median <<<"$cold")
    ratio=$(awk -v a="$cold_median" -v b="$fixture_median" 'BEGIN {printf "%.1f×", a / b}')
    awk -v a="$cold_median" -v b="$fixture_median" 'BEGIN {exit !(a > 3 * b)}' && over+=("$f")

    "$RELEASE/lambda-emulator" --bootstrap "$RELEASE/$f" --function-name "$f" \
        --event "${WARM_EVENT[$f]}" --repeat "$WARM" "${ENV[@]}" --log "$OUT/$f.log" \
        >"$OUT/$f-warm.jsonl" ||
        { show_log_tail "$OUT/$f.log"; die "$f failed under the emulator (see $OUT/$f-warm.jsonl)"; }
    warm_median=$(grep '"invocation"' "$OUT/$f-warm.jsonl" | tail -n +2 | json_field duration_ms | median)
    rss_kib=$(json_field peak_rss_kib <"$OUT/$f-warm.jsonl" | tail -1)

    printf '| %s | %s KiB (%.1f MB) | %s ms (%s–%s) | %s | %s ms | %s KiB (%.1f MB) |\n' \
        "$f" "$size_kib" "$(mb "$size_kib")" "$cold_median" "$(sort -n <<<"$cold" | head -1)" \
        "$(sort -n <<<"$cold" | tail -1)" "$ratio" "$warm_median" "$rss_kib" "$(mb "$rss_kib")"
done
echo
if [[ ${#over[@]} -eq 0 ]]; then
    info "every function's median cold start is within 3× the fixture's ($fixture_median ms)"
else
    warn "over 3× the fixture's median cold start ($fixture_median ms): ${over[*]}"
fi
info "load after the run: $(cut -d' ' -f1-3 /proc/loadavg); raw output in ${OUT#"$ROOT"/}/"
