#!/usr/bin/env bash
# Runs the whole Mobile-ID service locally: all four functions in one process, an in-memory
# store and a fake SMS gateway (http://127.0.0.1:8080/__sms__/). Arguments go to mobileid-local
# (`infra/run-local.sh --help`). Needs only cargo; the first run compiles for a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

# --help answers at once, without compiling (a fresh clone's first build takes minutes). The
# options are mobileid-local's own; infra/local/tests/cli.rs checks that this copy lists each.
for arg in "$@"; do
    case $arg in
    -h | --help)
        cat <<'HELP'
Usage: infra/run-local.sh [OPTIONS]

Builds (cargo build -p mobileid-local) and runs the whole Mobile-ID service locally: every route
of the four functions in one process, an in-memory store, keys generated for the run, the dev
stage's countries, and a fake SMS gateway. Then open:
  http://127.0.0.1:8080/__sms__/   the SMS it "sends" and the inbound callbacks it received
  http://127.0.0.1:8080/demo/      the demo client (both flows in the browser)

Options (each also read from the environment):
  --listen <ADDR>        address to listen on [env: MOBILEID_LISTEN] [default: 127.0.0.1:8080]
  --otp-domain <DOMAIN>  the client web app's domain: every code SMS then ends with
                         "@<domain> #<code>", the line Safari and Chrome fill codes in from
                         [env: MOBILEID_OTP_DOMAIN]
  --memory-capacity <N>  records the in-memory store holds at most, per table; past that,
                         requests that need a new record get 503/201 until old ones expire
                         [env: MOBILEID_MEMORY_CAPACITY] [default: 1000000]
  -h, --help             print this help
  -V, --version          print the version (after building)

Other settings come from the environment: MOBILEID_STAGE, MOBILEID_PUBLIC_URL, MOBILEID_ISSUER,
MOBILEID_STORE, MOBILEID_SECRET_JSON, MOBILEID_FAKE_SMS_TOKEN, RUST_LOG, … (README,
"Configuration"); MOBILEID_STORE=dynamodb needs `cargo run -p mobileid-local --features dynamodb`. A webhook signature secret, so that inbound callbacks must be signed:
  MOBILEID_SECRET_JSON=$(cargo run -q -p mobileid-ops -- secret generate --stage dev --signature-secret s3cret) infra/run-local.sh
HELP
        exit 0
        ;;
    esac
done

if ! command -v cargo >/dev/null 2>&1; then
    echo "run-local: cargo is missing; install Rust (https://rustup.rs) and run this again" >&2
    exit 1
fi
echo "==> building mobileid-local (the first build takes a few minutes; later ones seconds)" >&2
cargo build --quiet -p mobileid-local
exec target/debug/mobileid-local "$@"
