#!/usr/bin/env bash
# Install the system parts the tests use: headless Chromium with its driver (browser tests) and
# the shell script linter (the deploy and CI scripts are checked).
# The Firestore emulator comes with the gcloud SDK and Java, which this script does not install.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: please install ${missing[*]} (Debian/Ubuntu: apt-get install ${missing[*]});" \
         "their tests are skipped without them, except in CI where they fail" >&2
    exit 0
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
