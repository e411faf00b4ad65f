#!/usr/bin/env bash
# README.md's walk-through, pasted as a reader pastes it: builds mobileid-local and the ops
# tool, starts the server on a free loopback port, and runs infra/ci/readme_walkthrough.py,
# which extracts the marked shell blocks from README.md itself and checks every documented
# answer. The server is always stopped on exit.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"

LOGS="$ROOT/.tools/logs"
SERVER_START_TIMEOUT=${SERVER_START_TIMEOUT:-30}
mkdir -p "$LOGS"

stop_servers_on_exit

say "readme: building mobileid-local and the ops tool (debug; the walk-through runs cargo run)"
run_child cargo build -p mobileid-local -p mobileid-ops
bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/mobileid-local"
port=$(free_port 127.0.0.1)
url="http://127.0.0.1:$port"
log="$LOGS/readme-server.log"
start_server mobileid-local "$log" "$ROOT" env RUST_LOG=warn "$bin" --listen "127.0.0.1:$port"
wait_http_ok mobileid-local "$LAST_SERVER_PID" "$url/__lbheartbeat__" "$log" "$SERVER_START_TIMEOUT"
rc=0
run_child "$HELPER_PY" "$ROOT/infra/ci/readme_walkthrough.py" "$url" || rc=$?
if [[ $rc -ne 0 ]]; then
    show_log_tail "$log" 40
fi
exit "$rc"
