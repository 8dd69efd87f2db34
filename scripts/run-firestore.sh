#!/usr/bin/env bash
# The bot on the Firestore emulator: production's store, on your machine. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${FIRESTORE_PORT:-8681}"
if ! command -v gcloud >/dev/null 2>&1; then
    echo "run-firestore needs the gcloud SDK with the Firestore emulator and Java 11+:" >&2
    echo "  gcloud components install cloud-firestore-emulator" >&2
    exit 1
fi

# Its own process group, so stopping it also stops the Java process it starts.
setsid gcloud emulators firestore start --host-port="127.0.0.1:${port}" --quiet >.firestore-emulator.log 2>&1 &
emulator=$!
trap 'kill -- "-${emulator}" 2>/dev/null || true' EXIT

.venv/bin/python - "$port" <<'PY'
import sys, time, requests
url = f"http://127.0.0.1:{sys.argv[1]}/"
for _ in range(300):
    try:
        if requests.get(url, timeout=1).text.strip() == "Ok":
            sys.exit(0)
    except requests.RequestException:
        time.sleep(0.2)
sys.exit("the Firestore emulator did not start: see .firestore-emulator.log")
PY
echo "Firestore emulator on 127.0.0.1:${port} (data lives until you stop it)"

export FIRESTORE_EMULATOR_HOST="127.0.0.1:${port}"
export STORE_URL="firestore://demo-mentor"
HOST=127.0.0.1 PORT="${PORT:-8080}" .venv/bin/gunicorn -c gunicorn.conf.py 'app:create_app()'
