#!/usr/bin/env bash
# Backs a stage off to the previous release: deploys the tag before the one it runs.
#   infra/release/rollback.sh STAGE [--to TAG] [--dry-run]
# TAG defaults to the tag before the latest one. The script checks TAG out in a temporary
# clone (the current checkout is left alone) and runs infra/release/deploy.sh STAGE there,
# which also checks that the stage then serves TAG. For seconds-fast code-only rollbacks
# (the alias `live`), see docs/deployment.md §6.
# --dry-run resolves the tag and prints the deployment instead of running it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

STAGE="" TO=""
while [[ $# -gt 0 ]]; do
    case $1 in
    -h | --help) usage_from_header "$0"; exit 0 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --to) TO=$2; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) STAGE=$1; shift ;;
    esac
done
[[ -n $STAGE ]] || die "which stage? (see --help)"
check_stage "$STAGE"
cd "$ROOT"
if [[ -z $TO ]]; then
    TO=$(git tag --list 'v*' --sort=-v:refname | sed -n 2p)
    [[ -n $TO ]] || {
        [[ $DRY_RUN == 1 ]] || die "no previous tag to roll back to"
        TO=$(git rev-parse --short HEAD)
        warn "no previous tag: the dry run uses HEAD ($TO)"
    }
fi
git rev-parse --verify --quiet "$TO^{commit}" >/dev/null || die "no such tag: $TO"
say "rollback $STAGE to $TO"
if [[ $DRY_RUN == 1 ]]; then
    run git clone --quiet --no-local "$ROOT" "<tmp>"
    run git -C "<tmp>" checkout --quiet "$TO"
    run "<tmp>/infra/release/deploy.sh" "$STAGE"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone --quiet --no-local "$ROOT" "$tmp/src"
git -C "$tmp/src" checkout --quiet "$TO"
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target} "$tmp/src/infra/release/deploy.sh" "$STAGE"
