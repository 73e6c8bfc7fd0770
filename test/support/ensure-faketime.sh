#!/usr/bin/env bash
# test/e2e/clock-jump.test.ts runs a node under libfaketime (Debian's
# `faketime` package) to step its wall clock while it runs (issue 13, item 5);
# no npm package ships an LD_PRELOAD clock shim. `npm run test:e2e` calls this
# first: it installs the package when the library is missing and this machine
# can (root with apt-get, as on CI and the project's machines), and otherwise
# says what to install.
set -euo pipefail
LIBFAKETIME=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -e "$LIBFAKETIME" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test:e2e: installing Debian's faketime (for test/e2e/clock-jump.test.ts)" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends faketime >/dev/null
  exit 0
fi
echo "test:e2e: $LIBFAKETIME is missing: install Debian's faketime package (apt-get install faketime)" >&2
exit 1
