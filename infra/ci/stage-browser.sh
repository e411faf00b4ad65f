#!/usr/bin/env bash
# Browser tests: headless Chromium (Debian's `chromium`, installed with apt when
# /usr/bin/chromium is missing) driven by playwright-core (npm, pinned by
# infra/browser/package-lock.json, installed into .tools/browser; no browser download) against
# mobileid-local: the demo client's two flows to a verified certificate, a wrong code (105), a
# 429 countdown, the inbox page, and CORS from a page on another origin. Each test file starts
# its own server. Screenshots: .tools/browser-tests/*.png.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"

TOOLS="$ROOT/.tools/browser"
OUT="$ROOT/.tools/browser-tests"

cleanup() {
    local rc=$?
    set +e
    stop_child
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ! -x /usr/bin/chromium ]]; then
    say "chromium not found: installing Debian's chromium"
    apt_install chromium
fi
[[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium is still missing after apt-get install chromium"
info "$(/usr/bin/chromium --version 2>/dev/null || echo chromium)"

command -v npm >/dev/null 2>&1 || apt_install nodejs npm
# npm ci from the committed lock file, redone only when the lock changes.
if cmp -s "$ROOT/infra/browser/package-lock.json" "$TOOLS/package-lock.json" &&
    [[ -f $TOOLS/node_modules/playwright-core/package.json ]]; then
    info "playwright-core already in .tools/browser"
else
    say "installing playwright-core (infra/browser/package-lock.json) into .tools/browser"
    mkdir -p "$TOOLS"
    cp "$ROOT/infra/browser/package.json" "$ROOT/infra/browser/package-lock.json" "$TOOLS/"
    (cd "$TOOLS" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

say "browser tests: building mobileid-local (debug)"
run_child cargo build -p mobileid-local
rm -rf "$OUT"
mkdir -p "$OUT"
export MOBILEID_LOCAL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/mobileid-local"
export BROWSER_TOOLS_DIR="$TOOLS" BROWSER_TEST_OUT="$OUT"
run_child node --test "$ROOT/infra/browser/tests/"
info "screenshots: $(cd "$OUT" && ls -- *.png | tr '\n' ' ')"
