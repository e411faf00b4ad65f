#!/usr/bin/env bash
# Builds the checked-out commit and deploys it to one stage, then checks that the stage
# answers with this release.
#   infra/release/deploy.sh STAGE [--dry-run]
# STAGE is dev, load-stage, real-stage or production (samconfig.toml's config envs). Steps:
#   1. export MOBILEID_RELEASE/MOBILEID_COMMIT (git describe) for shared/build.rs;
#   2. sam build --config-env STAGE; sam deploy --config-env STAGE --no-confirm-changeset
#      (in CI, production waits for the approval of the GitHub environment instead);
#   3. GET <PublicUrl>/__version__ must name this release, and /__heartbeat__ answer 200.
# --dry-run prints the AWS commands instead of running them (no credentials needed).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

STAGE=""
while [[ $# -gt 0 ]]; do
    case $1 in
    -h | --help) usage_from_header "$0"; exit 0 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z $STAGE ]] || die "one stage only"; STAGE=$1; shift ;;
    esac
done
[[ -n $STAGE ]] || die "which stage? (see --help)"
check_stage "$STAGE"
grep -q "^\[$STAGE\.global\.parameters\]" "$ROOT/samconfig.toml" || die "samconfig.toml has no config env $STAGE"

say "deploy $STAGE"
export_release
cd "$ROOT"
run sam build --config-env "$STAGE"
run sam deploy --config-env "$STAGE" --no-confirm-changeset --no-progressbar
url=$(stack_output "$STAGE" PublicUrl)
if [[ $DRY_RUN == 1 ]]; then
    run curl -fsS "$url/__version__"
    run curl -fsS "$url/__heartbeat__"
    say "deploy $STAGE: dry run done"
    exit 0
fi
# The alias moves when the deployment ends; a few tries cover the API's propagation.
for attempt in 1 2 3 4 5 6; do
    version=$(curl -fsS "$url/__version__" || true)
    if [[ $version == *"\"version\":\"$MOBILEID_RELEASE\""* && $version == *"$MOBILEID_COMMIT"* ]]; then
        break
    fi
    ((attempt < 6)) || die "$url/__version__ does not show $MOBILEID_RELEASE: $version"
    sleep 10
done
curl -fsS "$url/__heartbeat__" >/dev/null || die "$url/__heartbeat__ does not answer 200"
say "deploy $STAGE: $url serves $MOBILEID_RELEASE"
