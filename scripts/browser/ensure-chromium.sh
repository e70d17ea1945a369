#!/usr/bin/env bash
# Makes sure Debian's chromium is installed at /usr/bin/chromium, for the console's browser test
# (test/console.e2e.int.spec.ts drives it with playwright-core; no browser is downloaded from
# anywhere but the distribution's apt repositories).
#
#   scripts/browser/ensure-chromium.sh
#
# stdout: the browser's path, and nothing else (the test reads it).
# stderr: what the script does — each apt-get command before it runs — and why it stops.
# Exit 0 when the browser is there (already, or installed now); 1 with the reason when it cannot be.
# CHROMIUM_PATH overrides /usr/bin/chromium (a browser installed elsewhere; nothing is installed).
set -uo pipefail

BIN="${CHROMIUM_PATH:-/usr/bin/chromium}"
say() { echo "[chromium] $*" >&2; }
fail() {
  say "cannot provide $BIN: $*"
  exit 1
}

# Chinese must render in the screenshots (hospital, county and category names): a CJK font too
has_cjk_font() { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null | head -1)" ]; }

if [ -x "$BIN" ] && { has_cjk_font || [ -n "${CHROMIUM_PATH:-}" ]; }; then
  echo "$BIN"
  exit 0
fi
if [ -n "${CHROMIUM_PATH:-}" ]; then
  fail "CHROMIUM_PATH is set but is not an executable file (nothing is installed for a custom path)"
fi

say "installing what is missing (Debian's chromium, a CJK font) with apt-get, once per machine"
command -v apt-get >/dev/null 2>&1 ||
  fail "there is no apt-get here; install Chromium yourself and set CHROMIUM_PATH"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 ||
    fail "this user is not root and there is no sudo; run: apt-get install chromium (as root)"
  sudo -n true 2>/dev/null ||
    fail "this user is not root and sudo wants a password; run: sudo apt-get install chromium"
  SUDO=(sudo -n)
  say "not root: using sudo"
fi

run() {
  say "running: ${SUDO[*]:+${SUDO[*]} }$*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "$@" >&2 || fail "'$*' failed (exit $?)"
}
run apt-get update
[ -x "$BIN" ] || run apt-get install -y --no-install-recommends chromium
has_cjk_font || run apt-get install -y --no-install-recommends fonts-noto-cjk fontconfig

[ -x "$BIN" ] || fail "apt-get finished but $BIN is still missing"
say "installed: $("$BIN" --version 2>/dev/null || echo "$BIN")"
echo "$BIN"
