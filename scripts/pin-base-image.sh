#!/usr/bin/env bash
# Pin the service's base image by digest: the current digest of python:3.11-slim-trixie, written into
# the Dockerfile's PYTHON_DIGEST and the pipeline's steps on that image (the tests run on the image the
# service runs on). Run it, review the diff, commit; again whenever the base image should move (security fixes).
#
#   scripts/pin-base-image.sh                  look the digest up (docker buildx or crane; needs Docker Hub)
#   scripts/pin-base-image.sh sha256:<64 hex>  use this digest, e.g. from `docker pull` on another machine
set -euo pipefail
cd "${PIN_ROOT:-$(dirname "$0")/..}"
tag="python:3.11-slim-trixie"
digest="${1:-}"
if [ -z "$digest" ]; then
    if command -v docker >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then
        digest="$(docker buildx imagetools inspect "$tag" --format '{{json .Manifest}}' |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])')"
    elif command -v crane >/dev/null 2>&1; then
        digest="$(crane digest "$tag")"
    else
        echo "pin-base-image: docker buildx or crane is needed to look up $tag (or give the digest: $0 sha256:...)" >&2
        exit 2
    fi
fi
if ! [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
    echo "pin-base-image: '$digest' is not a sha256 digest" >&2
    exit 2
fi
image="$tag@$digest"
sed -i -E "s|^ARG PYTHON_DIGEST=.*$|ARG PYTHON_DIGEST=@$digest|" Dockerfile
sed -i -E "s|^(    name: )python:3\.11-slim-trixie(@sha256:[0-9a-f]{64})?$|\1$image|" cloudbuild.yaml
if ! grep -q "^ARG PYTHON_DIGEST=@$digest$" Dockerfile || ! grep -q "name: $image$" cloudbuild.yaml; then
    echo "pin-base-image: could not write $image into Dockerfile and cloudbuild.yaml" >&2
    exit 1
fi
echo "pinned $image (Dockerfile, cloudbuild.yaml)"
