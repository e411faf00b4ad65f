#!/usr/bin/env bash
# Runs the whole Mobile-ID service locally: all four functions in one process, an in-memory
# store and a fake SMS gateway (http://127.0.0.1:8080/__sms__/). Arguments go to mobileid-local
# (`infra/run-local.sh --help`). Needs only cargo; the first run compiles for a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
    echo "run-local: cargo is missing; install Rust (https://rustup.rs) and run this again" >&2
    exit 1
fi
echo "==> building mobileid-local (the first build takes a few minutes; later ones seconds)" >&2
cargo build --quiet -p mobileid-local
exec target/debug/mobileid-local "$@"
