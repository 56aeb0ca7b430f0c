#!/usr/bin/env bash
# A learner's commands as the FIRST commands in a fresh clone (.ci/run runs this): `make site`
# first, then `make check` must still grade (the site's stamp once marked the learner's tools as
# installed without installing them, and broke `make check` for good), `make help` lists the
# targets, and the site's browser tests then run on the site that clone built.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/clone"
cd "$work/clone"
make -s help | grep -q "make check"
make site
status=0
make check CHAPTER=01 >"$work/check.log" 2>&1 || status=$?
tail -n 5 "$work/check.log"
if [ "$status" = 0 ] || ! grep -q "Self-check of 01_neural_network_basics: 0 / " "$work/check.log"; then
    echo "fresh clone: make check after make site did not grade the untouched chapter 1 (exit $status):"
    cat "$work/check.log"
    exit 1
fi
if [ -e build/site/.doctrees ]; then
    echo "fresh clone: Sphinx's cache is inside build/site/"; exit 1
fi
cd "$repo"
BACKPROP_LAB_SITE="$work/clone/build/site" make test-site-built
echo "fresh clone: make site, then make check, then the site in Chromium: all passed"
