#!/usr/bin/env bash
# Stores a release's load-test summary as the baseline the next release is compared with:
# the asset loadtest.json of the tag's GitHub release (gh CLI, GH_TOKEN in CI).
#   infra/release/store-baseline.sh TAG SUMMARY.json [--dry-run]
# --dry-run checks the summary is one (mobileid-loadtest compare reads it) and prints the upload.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ARGS=()
while [[ $# -gt 0 ]]; do
    case $1 in
    -h | --help) usage_from_header "$0"; exit 0 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) ARGS+=("$1"); shift ;;
    esac
done
[[ ${#ARGS[@]} -eq 2 ]] || die "give TAG and SUMMARY.json (see --help)"
TAG=${ARGS[0]} SUMMARY=${ARGS[1]}
[[ -f $SUMMARY ]] || die "$SUMMARY: no such file"
cd "$ROOT"
# The summary must be readable as a baseline: compared with itself, it must pass.
cargo build --quiet -p mobileid-loadtest
"${CARGO_TARGET_DIR:-$ROOT/target}/debug/mobileid-loadtest" compare "$SUMMARY" "$SUMMARY" >/dev/null ||
    die "$SUMMARY is not a usable load-test summary"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$SUMMARY" "$dir/loadtest.json"
run gh release upload "$TAG" "$dir/loadtest.json" --clobber
info "baseline of $TAG stored"
