#!/usr/bin/env bash
# Install the system parts the tests use: headless Chromium with its driver (browser tests), nginx
# (the front of the real server, as in the image: deploy/serve.sh), libfaketime (a server whose clock
# jumps, for the crash tests) and the shell script linter (the deploy and CI scripts are checked).
# The Firestore emulator comes with the gcloud SDK and Java, which this script does not install.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
# libfaketime: the crash tests give a real server a wall clock that jumps (tests/test_crash.py)
command -v faketime >/dev/null 2>&1 || missing+=(faketime)
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
# The tests (and `make run`) start nginx themselves, as the image does; the system-wide service the
# package starts on port 80 is not wanted.
if [[ " ${missing[*]} " == *" nginx "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now nginx >/dev/null 2>&1 || true
fi
