#!/usr/bin/env bash
# test/e2e/browser*.test.ts drive Debian's Chromium headless through
# playwright-core (issue 15): the browser comes from apt, never from a
# download by the test tool. `npm run test:e2e` calls this first: it installs
# the package when the browser is missing and this machine can (root with
# apt-get, as on CI and the project's machines), and otherwise says what to
# install.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test:e2e: installing Debian's chromium (for the browser tests)" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  exit 0
fi
echo "test:e2e: $CHROMIUM is missing: install Debian's chromium package (apt-get install chromium)" >&2
exit 1
