# shellcheck shell=bash
# Shared by the release scripts (infra/release/*.sh): the repository root, messages, the stage
# names, and `run`, which executes a command or, in dry-run mode (--dry-run or
# RELEASE_DRY_RUN=1), prints it instead. Dry runs need no AWS account, no credentials and no
# network: CI runs every script that way (infra/ci/stage-release.sh).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=infra/lib/common.sh
source "$ROOT/infra/lib/common.sh"

DRY_RUN=${RELEASE_DRY_RUN:-0}
STAGES_ALL=(dev load-stage real-stage production)

# run CMD [ARGS...]: execute, or print in dry-run mode.
run() {
    if [[ $DRY_RUN == 1 ]]; then
        printf '    [dry-run] %s\n' "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

# check_stage NAME: one of the stacks of samconfig.toml.
check_stage() {
    local s
    for s in "${STAGES_ALL[@]}"; do [[ $s == "$1" ]] && return 0; done
    die "unknown stage '$1' (stages: ${STAGES_ALL[*]})"
}

# stack_output STAGE KEY: an output of the stage's stack (a placeholder in dry-run mode).
stack_output() {
    if [[ $DRY_RUN == 1 ]]; then
        printf 'https://dry-run.invalid/%s/%s\n' "$1" "$2"
        return
    fi
    aws cloudformation describe-stacks --stack-name "mobileid-$1" \
        --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text
}

# The release of the checkout: exported for shared/build.rs, so that a build from a copy of the
# sources without .git (sam build) still shows the right tag and commit.
export_release() {
    MOBILEID_RELEASE=$(git -C "$ROOT" describe --tags --always)
    MOBILEID_COMMIT=$(git -C "$ROOT" rev-parse HEAD)
    export MOBILEID_RELEASE MOBILEID_COMMIT
    info "release $MOBILEID_RELEASE (commit $MOBILEID_COMMIT)"
}

# usage_from_header: prints the comment block at the top of the calling script.
usage_from_header() {
    sed -n '2,/^[^#]/p' "$1" | sed '$d' | sed 's/^# \{0,1\}//'
}
