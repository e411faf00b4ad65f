#!/usr/bin/env bash
# Instructions per call of each endpoint's handler beside its floor, counted by callgrind.
#
# The handler is the whole router in-process (extractors, Hawk, limits, the in-memory store,
# the outbox, JSON: testkit's TestApp on the load-stage stage); the floor is the cryptography
# and number validation the endpoint cannot skip (shared/benches/service/floor.rs). Both run
# in the bench binary of `cargo bench -p mobileid` (the release profile's optimisation), in
# its callgrind mode (shared/benches/service/instructions.rs): inputs prepared outside the
# measured function, one-time costs paid before it, 200 measured calls. Instruction counts do
# not move with the machine's load, unlike timings: the ratio handler ÷ floor is repeatable.
# The goal (issue 14): every handler within 3× of its floor.
#
# Usage: infra/bench/instructions.sh [--no-build] [ENDPOINT...]
#   Prints a Markdown table; callgrind's files are kept in $OUT (default target/bench/instructions).
#   Exit status 1 if a handler is over 3× its floor.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"

OUT=${OUT:-$ROOT/target/bench/instructions}
BUILD=1
ENDPOINTS=()
for arg in "$@"; do
    case $arg in
    --no-build) BUILD=0 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option: $arg (see --help)" ;;
    *) ENDPOINTS+=("$arg") ;;
    esac
done
# endpoint → its floor (empty: it has no cryptography to compare with)
declare -A HAS_FLOOR=([discover]=0 [register]=1 [mt_verify]=1 [webhook]=1 [verify_code_right]=1
    [verify_code_wrong]=1 [certificate_sign]=1 [unregister]=1)
((${#ENDPOINTS[@]})) || ENDPOINTS=(discover register mt_verify webhook verify_code_right
    verify_code_wrong certificate_sign unregister)
for e in "${ENDPOINTS[@]}"; do
    [[ -n ${HAS_FLOOR[$e]:-} ]] || die "unknown endpoint: $e (one of ${!HAS_FLOOR[*]})"
done
command -v valgrind >/dev/null 2>&1 || apt_install valgrind
mkdir -p "$OUT"

if [[ $BUILD == 1 ]]; then
    say "building the bench binary (cargo bench -p mobileid --no-run: release profile, a few minutes)"
fi
# cargo prints the executable it built (or found up to date) as a JSON artifact line.
BIN=$(cargo bench -p mobileid --bench service --no-run --message-format=json 2>"$OUT/build.log" |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "service" and m.get("executable"):
        print(m["executable"])') || { tail -20 "$OUT/build.log"; die "the bench binary did not build"; }
[[ -x $BIN ]] || { tail -20 "$OUT/build.log"; die "no bench binary found"; }

# count CASE: instructions per measured call of CASE (handler:NAME or floor:NAME).
count() {
    local file="$OUT/${1/:/-}.callgrind" log="$OUT/${1/:/-}.log" iterations total
    MOBILEID_INSTRUCTIONS=$1 valgrind --tool=callgrind --callgrind-out-file="$file" \
        --collect-atstart=no --toggle-collect='*callgrind_measured*' "$BIN" >"$log" 2>&1 ||
        { tail -20 "$log"; die "$1 failed under callgrind"; }
    iterations=$(awk '/^iterations /{print $2}' "$log")
    total=$(awk '/^(summary|totals):/{print $2; exit}' "$file")
    [[ -n $iterations && -n $total ]] || die "$1: no count in $file"
    # Nothing collected means callgrind never entered the measured function (a stripped
    # binary, a renamed function): a count of zero would pass every ratio.
    ((total > 0)) || die "$1: callgrind collected nothing (is the bench binary stripped?)"
    echo $((total / iterations))
}
thousands() { awk -v n="$1" 'BEGIN {printf "%\047d", n}'; }

say "callgrind: 200 calls per case, $(valgrind --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n| endpoint | handler, instructions per call | floor | handler ÷ floor | ≤ 3× ? |\n'
printf '|---|---|---|---|---|\n'
over=()
for e in "${ENDPOINTS[@]}"; do
    handler=$(count "handler:$e")
    if [[ ${HAS_FLOOR[$e]} == 1 ]]; then
        floor=$(count "floor:$e")
        ratio=$(awk -v a="$handler" -v b="$floor" 'BEGIN {printf "%.2f×", a / b}')
        if awk -v a="$handler" -v b="$floor" 'BEGIN {exit !(a > 3 * b)}'; then
            verdict="**no**"
            over+=("$e")
        else
            verdict=yes
        fi
        printf '| %s | %s | %s | %s | %s |\n' "$e" "$(thousands "$handler")" "$(thousands "$floor")" "$ratio" "$verdict"
    else
        printf '| %s | %s | — (no cryptography) | — | — |\n' "$e" "$(thousands "$handler")"
    fi
done
echo
if ((${#over[@]})); then
    warn "over 3× their floor: ${over[*]}"
    exit 1
fi
say "every handler is within 3× of its floor"
