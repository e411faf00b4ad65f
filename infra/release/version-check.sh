#!/usr/bin/env bash
# Builds a tagged checkout and checks that GET /__version__ shows the tag and the commit:
# the release is visible from what the build carries (shared/build.rs), not from the crate
# version. CI runs it (infra/ci/stage-release.sh).
#   infra/release/version-check.sh [--help]
# It clones this checkout's HEAD into a temporary directory, tags it, builds mobileid-local
# there (sharing this target directory, so only the workspace's crates compile), starts it on
# a free loopback port and reads /__version__ and /. Nothing outside the clone is changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
case ${1:-} in -h | --help) usage_from_header "$0"; exit 0 ;; esac

tmp=$(mktemp -d)
pid=""
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; return 0; }
trap cleanup EXIT
git clone --quiet --no-local "$ROOT" "$tmp/src"
tag="v0.0.0-version-check.$(date +%s)"
git -C "$tmp/src" -c user.name=ci -c user.email=ci@invalid tag -a "$tag" -m "version check"
commit=$(git -C "$tmp/src" rev-parse HEAD)
say "building mobileid-local from a checkout tagged $tag ($commit)"
# The release scripts' variables must not leak in: the build has to find the tag itself.
# The same target directory: the clone's workspace crates are new units (another path), the
# dependencies are not. Its binary is copied away at once, before another build relinks it.
target=${CARGO_TARGET_DIR:-$ROOT/target}
(cd "$tmp/src" && env -u MOBILEID_RELEASE -u MOBILEID_COMMIT CARGO_TARGET_DIR="$target" \
    cargo build --quiet -p mobileid-local)
cp "$target/debug/mobileid-local" "$tmp/mobileid-local"
port=$(free_port)
"$tmp/mobileid-local" --listen "127.0.0.1:$port" >"$tmp/log" 2>&1 &
pid=$!
wait_http_ok mobileid-local "$pid" "http://127.0.0.1:$port/__lbheartbeat__" "$tmp/log" 60
"$HELPER_PY" - "http://127.0.0.1:$port" "$tag" "$commit" <<'PY'
import json, sys, urllib.request
base, tag, commit = sys.argv[1:]
version = json.load(urllib.request.urlopen(base + "/__version__"))
home = json.load(urllib.request.urlopen(base + "/"))
assert sorted(version) == ["build", "commit", "source", "version"], version
assert version["version"] == tag, f"/__version__ says {version['version']!r}, the checkout is {tag!r}"
assert version["commit"] == commit, f"/__version__ says commit {version['commit']!r}, not {commit!r}"
assert (home["version"], home["commit"]) == (tag, commit), home
print(f"    /__version__ = {json.dumps(version)}")
PY
say "version check ok: the build from $tag says so"
