#!/usr/bin/env bash
# Debian packages the end-to-end tests use, which no npm package ships:
#   - faketime: test/e2e/clock-jump.test.ts runs a node under libfaketime
#     (an LD_PRELOAD clock shim) to step its wall clock (issue 13, item 5);
#   - chromium: the browser tests drive Debian's Chromium headless through
#     playwright-core, which never downloads a browser (issue 15).
# `npm run test:e2e` calls this first: it installs what is missing when this
# machine can (root with apt-get, as on CI and the project's machines), with
# one `apt-get update`, and otherwise says what to install.
set -euo pipefail
missing=()
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || missing+=(faketime)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test:e2e: installing Debian's ${missing[*]} (for the end-to-end tests)" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "test:e2e: missing Debian packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
exit 1
