#!/usr/bin/env bash
# The release cycle by hand, step by step, as .github/workflows/release.yml runs it:
#   1. announce   infra/release/announce.sh (the tagging announcement)
#   2. load-stage infra/release/deploy.sh load-stage
#   3. load test  infra/release/loadtest.sh (the fake gateway's token from the stack)
#   4. compare    infra/release/compare.sh: stops here on a regression (exit 1)
#   5. approval   (the workflow waits for the `production` environment's reviewers; by hand,
#                 this script asks unless --yes)
#   6. real-stage infra/release/deploy.sh real-stage
#   7. production infra/release/deploy.sh production, then store-baseline.sh
#   infra/release/cycle.sh [--dry-run] [--yes] [--duration 5m]
# Run it on the tag's checkout. --dry-run runs every step without AWS (CI does).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

YES=0 DURATION=5m
while [[ $# -gt 0 ]]; do
    case $1 in
    -h | --help) usage_from_header "$0"; exit 0 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --yes) YES=1; shift ;;
    --duration) DURATION=$2; shift 2 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
dry=()
[[ $DRY_RUN == 1 ]] && dry=(--dry-run) && YES=1
here=$ROOT/infra/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tag=$(git -C "$ROOT" describe --tags --always)

say "1/7 announcement"
"$here/announce.sh" "${dry[@]}" >"$work/announcement.md"
head -3 "$work/announcement.md" | sed 's/^/    /'
say "2/7 load-stage"
"$here/deploy.sh" load-stage "${dry[@]}"
say "3/7 load test"
"$here/loadtest.sh" "$work/loadtest.json" --duration "$DURATION" "${dry[@]}"
say "4/7 compare with the previous release"
"$here/compare.sh" "$work/loadtest.json" "${dry[@]}" || die "regression: the release stops here (table above)"
say "5/7 approval"
if [[ $YES != 1 ]]; then
    read -r -p "Deploy $tag to real-stage and production? [y/N] " answer
    [[ $answer == y* ]] || die "not approved"
fi
say "6/7 real-stage"
"$here/deploy.sh" real-stage "${dry[@]}"
say "7/7 production"
"$here/deploy.sh" production "${dry[@]}"
"$here/store-baseline.sh" "$tag" "$work/loadtest.json" "${dry[@]}"
say "release $tag done"
