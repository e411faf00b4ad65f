#!/usr/bin/env bash
# Installs the deployment tools (aws-sam-cli, cargo-lambda, zig: the versions
# infra/ci/stage-sam.sh checks the template and the build with) into .tools/venv-sam, and puts
# them first on PATH for the next steps of a GitHub Actions job ($GITHUB_PATH).
#   infra/release/tools.sh [--dry-run]
# --dry-run prints the install instead of running it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
case ${1:-} in
-h | --help) usage_from_header "$0"; exit 0 ;;
--dry-run) DRY_RUN=1 ;;
"") ;;
*) die "unknown argument $1 (see --help)" ;;
esac
# One list of pins: the stage that checks them.
pins=$(sed -n 's/^PY_PINS=(\(.*\))$/\1/p' "$ROOT/infra/ci/stage-sam.sh")
[[ -n $pins ]] || die "no PY_PINS in infra/ci/stage-sam.sh"
venv=$ROOT/.tools/venv-sam
read -r -a pin_list <<<"$pins"
run python3 -m venv "$venv"
run "$venv/bin/pip" install --quiet --disable-pip-version-check "${pin_list[@]}"
if [[ -n ${GITHUB_PATH:-} ]]; then
    run sh -c "echo '$venv/bin' >> \"\$GITHUB_PATH\""
fi
info "deployment tools: ${pin_list[*]}"
