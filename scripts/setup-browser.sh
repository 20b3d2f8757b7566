#!/usr/bin/env bash
# Makes sure a Chromium is there for the dashboard's browser test: when
# none is found, installs Debian's `chromium` with apt-get. Idempotent;
# `npm test` runs it. Without root or apt-get it says so and goes on: the
# browser test then fails, saying what is missing (it does not skip).
set -u
for c in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$c" ] && [ -x "$c" ]; then
    exit 0
  fi
done
log=/tmp/wray-setup-browser.log
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-browser: no Chromium, and it can be installed here only as root with apt-get (set CHROMIUM to one); the dashboard test will fail" >&2
  exit 0
fi
echo "setup-browser: no Chromium; installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
if (apt-get install -y -q --no-install-recommends chromium >"$log" 2>&1 || (apt-get update -q >>"$log" 2>&1 && apt-get install -y -q --no-install-recommends chromium >>"$log" 2>&1)) && [ -x /usr/bin/chromium ]; then
  echo "setup-browser: $(/usr/bin/chromium --version 2>/dev/null)"
else
  echo "setup-browser: installing chromium failed (see $log); the dashboard test will fail" >&2
fi
exit 0
