#!/usr/bin/env bash
# Writes the tagging announcement of a release (Markdown on stdout): the tag, its commit, and
# the changes since the previous tag, from the commit log. The release workflow posts it as the
# GitHub release's notes and sends it to the team's list.
#   infra/release/announce.sh [TAG] [--since PREVIOUS_TAG] [--dry-run]
# TAG defaults to the tag at HEAD; PREVIOUS_TAG to the tag before it (all history if none).
# The script only reads git: --dry-run is accepted and changes nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

TAG="" SINCE=""
while [[ $# -gt 0 ]]; do
    case $1 in
    -h | --help) usage_from_header "$0"; exit 0 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --since) SINCE=$2; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) TAG=$1; shift ;;
    esac
done
cd "$ROOT"
TAG=${TAG:-$(git describe --tags --exact-match HEAD 2>/dev/null || git describe --tags --always)}
commit=$(git rev-parse "$TAG^{commit}") || die "no such tag or commit: $TAG"
SINCE=${SINCE:-$(git describe --tags --abbrev=0 "$TAG^" 2>/dev/null || true)}
range=$TAG
[[ -n $SINCE ]] && range="$SINCE..$TAG"
count=$(git rev-list --count --no-merges "$range")
echo "# Mobile-ID $TAG"
echo
echo "Tagged $(git log -1 --format=%cs "$commit") at commit \`$commit\`."
echo "Next: load-stage now (load tests until Friday), production on Monday if there is no regression."
echo
if [[ -n $SINCE ]]; then
    echo "## Changes since $SINCE ($count commits)"
else
    echo "## Changes ($count commits, first release)"
fi
echo
git log --no-merges --format='- %s (%h, %an)' "$range"
