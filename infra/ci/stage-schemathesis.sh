#!/usr/bin/env bash
# CI stage "schemathesis": schema-driven fuzzing of the running local server from its own
# /openapi.json. Installs schemathesis (PyPI, pinned) into .tools/venv-schemathesis, builds
# and starts target/debug/mobileid-local on a free port, and runs every documented operation
# with generated valid and invalid requests (Hawk-signed where the operation needs it, see
# infra/ci/schemathesis_hooks.py), failing on:
#   - any 5xx (not_a_server_error),
#   - a status, content type, header or body the document does not give that operation
#     (status_code / content_type / response_headers / response_schema conformance),
#   - an error that is not the JSON error body (errors_are_json, our hook),
#   - invalid data accepted (negative_data_rejection), an undocumented method not refused with
#     405 (unsupported_method), a secured operation answering without credentials (ignored_auth),
#     and schemathesis' other checks; infra/ci/schemathesis.toml says which are off and why.
# Bounded: SCHEMATHESIS_EXAMPLES cases per operation and phase, SCHEMATHESIS_MAX_SECONDS overall
# (the fuzzing phase repeats until that budget is spent). One worker: with two, CPython 3.11's
# ast module (used by hypothesis to describe filters) raised "AST constructor recursion depth
# mismatch" from concurrent threads. Per-operation settings: infra/ci/schemathesis.toml.
#
# The server runs the load-stage table: its per-address limits are lifted, so the run measures
# the API, not the limiter (429s are still documented answers, checked like the others).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"

SCHEMATHESIS_VERSION="4.32.5"
VENV="$ROOT/.tools/venv-schemathesis"
LOGS="$ROOT/.tools/logs"
REPORT_DIR="$ROOT/.tools/schemathesis-report"
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-60}
MAX_SECONDS=${SCHEMATHESIS_MAX_SECONDS:-40}
SEED=${SCHEMATHESIS_SEED:-}
mkdir -p "$LOGS"

stage_start=$(now_ms)
trap 'stop_child; stop_all_servers' EXIT
trap 'exit 130' INT TERM

# ---- install (cached) ---------------------------------------------------------------------------
if [[ -x $VENV/bin/schemathesis ]] && "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $SCHEMATHESIS_VERSION\$"; then
    say "schemathesis $SCHEMATHESIS_VERSION already in .tools/venv-schemathesis"
else
    say "installing schemathesis $SCHEMATHESIS_VERSION into .tools/venv-schemathesis (PyPI)"
    t=$(now_ms)
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
        >"$LOGS/schemathesis-install.log" 2>&1 || {
        show_log_tail "$LOGS/schemathesis-install.log"
        die "pip install schemathesis failed"
    }
    info "installed in $(fmt_ms $(($(now_ms) - t)))"
fi

# ---- build and start the local server ----------------------------------------------------------
say "cargo build -p mobileid-local"
t=$(now_ms)
run_child cargo build --quiet -p mobileid-local
info "built in $(fmt_ms $(($(now_ms) - t)))"

PORT=$(free_port 127.0.0.1)
URL="http://127.0.0.1:$PORT"
SERVER_LOG="$LOGS/schemathesis-server.log"
start_server mobileid-local "$SERVER_LOG" "$ROOT" env MOBILEID_STAGE=load-stage RUST_LOG=warn \
    "$ROOT/target/debug/mobileid-local" --listen "127.0.0.1:$PORT"
wait_http_ok mobileid-local "$LAST_SERVER_PID" "$URL/__lbheartbeat__" "$SERVER_LOG" 30

# ---- run ------------------------------------------------------------------------------------------
say "schemathesis: every operation of $URL/openapi.json, $EXAMPLES examples per phase, at most ${MAX_SECONDS}s"
rm -rf "$REPORT_DIR"
seed_args=()
if [[ -n $SEED ]]; then seed_args=(--seed "$SEED"); fi
t=$(now_ms)
rc=0
MOBILEID_URL="$URL" SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$ROOT/infra/ci" \
    run_child timeout --signal=TERM $((MAX_SECONDS + 60)) \
    "$VENV/bin/schemathesis" --no-color --config-file "$ROOT/infra/ci/schemathesis.toml" \
    run "$URL/openapi.json" \
    --phases examples,coverage,fuzzing \
    --max-examples "$EXAMPLES" \
    --max-time "$MAX_SECONDS" \
    --request-timeout 10 \
    --workers 1 \
    --report junit,ndjson --report-dir "$REPORT_DIR" \
    "${seed_args[@]}" \
    >"$LOGS/schemathesis.log" 2>&1 || rc=$?
info "schemathesis ran $(fmt_ms $(($(now_ms) - t))) (exit $rc)"

# The summary: schemathesis' own closing lines, then ours.
sed -n '/SUMMARY/,$p' "$LOGS/schemathesis.log" | head -60
if [[ $rc -ne 0 ]]; then
    grep -n -A12 '^_* .* _*$\|^- \|Failed' "$LOGS/schemathesis.log" | head -150 || true
    if ! kill -0 "$LAST_SERVER_PID" 2>/dev/null; then
        show_log_tail "$SERVER_LOG"
        die "mobileid-local died during the run"
    fi
fi
if grep -q -i "panicked" "$SERVER_LOG"; then
    grep -n -i -B2 -A8 "panicked" "$SERVER_LOG" | head -60
    die "mobileid-local panicked during the run (log: ${SERVER_LOG#"$ROOT"/})"
fi
info "full log: .tools/logs/schemathesis.log; reports: ${REPORT_DIR#"$ROOT"/}/"
info "stage took $(fmt_ms $(($(now_ms) - stage_start)))"
[[ $rc -eq 0 ]] || die "schemathesis found failures (exit $rc)"
say "schemathesis: no failure"
