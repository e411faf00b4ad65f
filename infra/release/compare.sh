#!/usr/bin/env bash
# Decides whether a release regressed: compares its load-test summary with the previous
# release's stored baseline (mobileid-loadtest compare, default limits; see its --help).
#   infra/release/compare.sh CANDIDATE.json [--baseline FILE | --previous-tag TAG] [--dry-run]
# The baseline of a release is the asset loadtest.json of its GitHub release (the release
# workflow stores it there once production runs the release). --previous-tag fetches it with
# the gh CLI; with neither option, the previous tag of the checkout is used. A release with no
# baseline yet (the first one) passes with a warning.
# Exit code: 0 no regression, 1 a regression (the table says which rule), 2 other errors.
# --dry-run compares with the fixture baseline of infra/loadtest/tests/fixtures instead of
# fetching one, with the p99 slack a local run needs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CANDIDATE="" BASELINE="" TAG=""
while [[ $# -gt 0 ]]; do
    case $1 in
    -h | --help) usage_from_header "$0"; exit 0 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --baseline) BASELINE=$2; shift 2 ;;
    --previous-tag) TAG=$2; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) CANDIDATE=$1; shift ;;
    esac
done
[[ -n $CANDIDATE && -f $CANDIDATE ]] || die "the candidate summary is missing (see --help)"
cd "$ROOT"
extra=()
if [[ $DRY_RUN == 1 && -z $BASELINE ]]; then
    # A local run of a few seconds is not load-stage: only the rule machinery is exercised.
    BASELINE=$ROOT/infra/loadtest/tests/fixtures/baseline.json
    extra=(--max-throughput-drop 100 --p99-slack-ms 1000)
fi
if [[ -z $BASELINE ]]; then
    TAG=${TAG:-$(git describe --tags --abbrev=0 HEAD^ 2>/dev/null || true)}
    [[ -n $TAG ]] || { warn "no previous tag: nothing to compare with (first release)"; exit 0; }
    BASELINE=$(mktemp -d)/loadtest.json
    if ! gh release download "$TAG" --pattern loadtest.json --output "$BASELINE" 2>/dev/null; then
        warn "release $TAG has no loadtest.json baseline: nothing to compare with"
        exit 0
    fi
    info "baseline: loadtest.json of $TAG"
fi
cargo build --quiet -p mobileid-loadtest
"${CARGO_TARGET_DIR:-$ROOT/target}/debug/mobileid-loadtest" compare "$BASELINE" "$CANDIDATE" "${extra[@]}"
