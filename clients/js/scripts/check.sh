#!/usr/bin/env bash
# The client package's checks, run by scripts/test: install the dev tools from
# the lock file, type-check the declarations, run the unit tests, then pack
# the package and run the same tests against the tarball installed into an
# empty project (what a user gets from npm). Prints the size.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --no-audit --no-fund --silent
npx tsc -p tsconfig.json
npm test --silent

out=$(mktemp -d "${TMPDIR:-/tmp}/rt-client.XXXXXX")
trap 'rm -rf "$out"' EXIT
tarball=$(npm pack --silent --pack-destination "$out")
echo "packed: $tarball ($(tar -tzf "$out/$tarball" | tr '\n' ' '))"
mkdir "$out/app"
cp -r test "$out/app/test"
cd "$out/app"
echo '{"name": "empty-app", "private": true, "type": "module"}' >package.json
npm install --no-audit --no-fund --silent "$out/$tarball"
node --test test/*.test.js
cd - >/dev/null
npm run --silent size
