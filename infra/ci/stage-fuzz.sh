#!/usr/bin/env bash
# CI stage "fuzz": builds the cargo-fuzz targets of fuzz/ and runs each for a bounded time
# (FUZZ_SECONDS, default 6 s), failing on the first crash, panic, leak-out-of-memory or
# timeout a target reports. Every crash it ever found is a regression test in the normal test
# suite; a new one prints the input file and the command that replays it.
#
# cargo-fuzz wants a nightly compiler for its -Z flags; this machine's stable toolchain accepts
# them with RUSTC_BOOTSTRAP=1. No sanitizer (-s none): the code is safe Rust, so what fuzzing
# finds is panics (including overflow checks and debug assertions, which stay on), and the
# instrumented build is faster without ASan.
#
# Usage: infra/ci/stage-fuzz.sh [TARGET...]     (default: every target in fuzz/Cargo.toml)
# Environment: FUZZ_SECONDS (per target), FUZZ_JOBS (cargo build jobs, default 2),
#   FUZZ_TARGET_DIR and CARGO_FUZZ_ROOT (default: under ~/.cache/mobileid, outside the checkout,
#   so that CI's fresh clones reuse the instrumented dependency build — the AWS SDK crates take
#   15–30 min cold on a 2-core machine — and cargo-fuzz itself; a new machine builds them once).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"

CARGO_FUZZ_VERSION="0.13.2"
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mobileid
TOOL_ROOT=${CARGO_FUZZ_ROOT:-$CACHE/cargo-fuzz}
TARGET_DIR=${FUZZ_TARGET_DIR:-$CACHE/fuzz-target}
CARGO_FUZZ="$TOOL_ROOT/bin/cargo-fuzz"
FUZZ_SECONDS=${FUZZ_SECONDS:-6}
FUZZ_JOBS=${FUZZ_JOBS:-2}
# The same flags for build and run, so that `cargo fuzz run` finds the build and does not redo it.
FUZZ_FLAGS=(--sanitizer none --codegen-units 16 --target-dir "$TARGET_DIR")
LOGS="$ROOT/.tools/logs"
mkdir -p "$LOGS"

stage_start=$(now_ms)
# A signal (CI's overall timeout, Ctrl-C) stops the running build or fuzzer too.
trap 'stop_child; exit 130' INT TERM

# ---- install cargo-fuzz (cached in .tools/) -------------------------------------------------
if [[ -x $CARGO_FUZZ ]] && "$CARGO_FUZZ" --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    say "cargo-fuzz $CARGO_FUZZ_VERSION already in ${TOOL_ROOT#"$ROOT"/}"
else
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION into ${TOOL_ROOT#"$ROOT"/} (crates.io, a few minutes)"
    t=$(now_ms)
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOL_ROOT" \
        >"$LOGS/cargo-fuzz-install.log" 2>&1 || {
        show_log_tail "$LOGS/cargo-fuzz-install.log"
        die "cargo install cargo-fuzz failed"
    }
    info "installed in $(fmt_ms $(($(now_ms) - t)))"
fi

export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS=$FUZZ_JOBS

if [[ $# -gt 0 ]]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <("$CARGO_FUZZ" list --fuzz-dir fuzz)
fi
[[ ${#TARGETS[@]} -gt 0 ]] || die "no fuzz targets found in fuzz/"

# ---- build ----------------------------------------------------------------------------------
say "building ${#TARGETS[@]} fuzz targets (${TARGET_DIR#"$ROOT"/}, no sanitizer, overflow checks on)"
t=$(now_ms)
run_child "$CARGO_FUZZ" build --fuzz-dir fuzz "${FUZZ_FLAGS[@]}" >"$LOGS/fuzz-build.log" 2>&1 || {
    show_log_tail "$LOGS/fuzz-build.log" 60
    die "the fuzz targets do not build (log: .tools/logs/fuzz-build.log)"
}
info "built in $(fmt_ms $(($(now_ms) - t)))"
BIN_DIR="$TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release"

# ---- run each target --------------------------------------------------------------------------
declare -a SUMMARY=()
failed=()
for target in "${TARGETS[@]}"; do
    corpus="fuzz/corpus/$target"   # grows between runs (gitignored)
    seeds="fuzz/seeds/$target"     # committed starting inputs, read only (fuzz/dicts: tokens)
    mkdir -p "$corpus" "fuzz/artifacts/$target"
    inputs=("$corpus")
    if [[ -d $seeds ]]; then inputs+=("$seeds"); fi
    options=(-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    # A dictionary of the format's tokens gets the fuzzer past the syntax sooner.
    if [[ -f fuzz/dicts/$target.dict ]]; then options+=(-dict="fuzz/dicts/$target.dict"); fi
    log="$LOGS/fuzz-$target.log"
    say "fuzzing $target for ${FUZZ_SECONDS}s"
    t=$(now_ms)
    rc=0
    # The binary itself, not `cargo fuzz run`: nothing is rebuilt inside the time budget. libFuzzer
    # stops at -max_total_time; the outer timeout only guards against a hang.
    run_child timeout --signal=KILL $((FUZZ_SECONDS + 60)) \
        "$BIN_DIR/$target" -artifact_prefix="fuzz/artifacts/$target/" "${options[@]}" "${inputs[@]}" \
        >"$log" 2>&1 || rc=$?
    secs=$(fmt_ms $(($(now_ms) - t)))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
    corpus_size=$(find "$corpus" -type f | wc -l)
    if [[ $rc -eq 0 ]]; then
        SUMMARY+=("$(printf '%-18s %10s runs %6s  corpus %5s  ok' "$target" "${execs:-?}" "$secs" "$corpus_size")")
    else
        artifact=$(grep -o 'fuzz/artifacts/[^ ]*' "$log" | head -1 || true)
        SUMMARY+=("$(printf '%-18s %10s runs %6s  corpus %5s  FAILED (exit %s) %s' "$target" "${execs:-?}" "$secs" "$corpus_size" "$rc" "$artifact")")
        show_log_tail "$log" 40
        warn "$target failed: replay with: ${BIN_DIR#"$ROOT"/}/$target ${artifact:-<input>}  (or: RUSTC_BOOTSTRAP=1 ${CARGO_FUZZ#"$ROOT"/} run --fuzz-dir fuzz ${FUZZ_FLAGS[*]} $target ${artifact:-<input>})"
        failed+=("$target")
    fi
done

say "fuzz summary (${FUZZ_SECONDS}s per target; logs in .tools/logs/fuzz-*.log)"
printf '    %s\n' "${SUMMARY[@]}"
info "stage took $(fmt_ms $(($(now_ms) - stage_start)))"
if [[ ${#failed[@]} -gt 0 ]]; then
    die "fuzzing found failures in: ${failed[*]}"
fi
say "fuzz: no crash in ${#TARGETS[@]} targets"
