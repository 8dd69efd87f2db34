#!/usr/bin/env bash
# What the pipeline's test step needs on python:3.11-slim-trixie (the service image's Python):
# make, Java and the gcloud SDK's Firestore emulator, Chromium and its driver, shellcheck, nginx (the
# server's front), and a C compiler (the crash tests build a clock they can move).
# Cloud Build reaches the internet, so the SDK comes from Google's own Debian repository.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends ca-certificates curl gnupg make default-jre-headless \
    chromium chromium-driver shellcheck nginx gcc libc6-dev >/dev/null
curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | gpg --dearmor -o /usr/share/keyrings/cloud.google.gpg
echo "deb [signed-by=/usr/share/keyrings/cloud.google.gpg] https://packages.cloud.google.com/apt cloud-sdk main" \
    >/etc/apt/sources.list.d/google-cloud-sdk.list
apt-get update -qq
apt-get install -y -qq --no-install-recommends google-cloud-cli google-cloud-cli-firestore-emulator >/dev/null
python3 --version
