#!/usr/bin/env bash
# The container's PID 1 (the image's CMD; `make run` too when nginx is installed): gunicorn on a unix
# socket, and nginx in front of it on $HOST:$PORT, reading each request whole before gunicorn sees it
# (deploy/nginx.conf.template says why). Cloud Run sends SIGTERM, then SIGKILL 10 s later, so both are
# stopped together and all is over in under 9 s: nginx at once (SIGQUIT: it stops listening and
# finishes what it holds, for 8.5 s at most), gunicorn as soon as nginx is gone or 1 s later (SIGTERM:
# it finishes the requests in flight for 7 s at most), so an answer gunicorn gives within its 7 s still
# goes out through nginx. Ctrl-C (`make run`) does the same: nginx and gunicorn run in sessions of
# their own (setsid), so the terminal's SIGINT reaches only this script, which stops them and exits 0.
# If either stops by itself the other is stopped too, and this script exits 1, so the platform restarts
# the instance instead of serving half a service.
#
# Environment: PORT (8080), HOST (0.0.0.0), and TRUSTED_PROXIES: the addresses or networks whose
# X-Forwarded-For names the client (space or comma separated). On Cloud Run (K_SERVICE is set) every
# peer is Google's front end, so it is trusted unless TRUSTED_PROXIES says otherwise; elsewhere nobody.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PORT:-8080}"
host="${HOST:-0.0.0.0}"
[[ "$host" == *:* ]] && host="[$host]"
run="$(mktemp -d "${TMPDIR:-/tmp}/serve.XXXXXX")"  # temp files, pid and socket: /tmp is writable on Cloud Run
socket="$run/gunicorn.sock"
trap 'rm -rf "$run"' EXIT

trusted="${TRUSTED_PROXIES-}"
if [ -z "${TRUSTED_PROXIES+set}" ] && [ -n "${K_SERVICE:-}" ]; then
    trusted="0.0.0.0/0 ::/0"
fi
real_ip_from="" trusted_geo="" everyone=0
for proxy in ${trusted//,/ }; do
    if ! [[ "$proxy" =~ ^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$ ]]; then
        echo "serve: TRUSTED_PROXIES: '$proxy' is not an address or network" >&2
        exit 2
    fi
    real_ip_from+="set_real_ip_from $proxy; "
    case "$proxy" in
        0.0.0.0/0 | ::/0) everyone=1 ;;  # the geo block's default, not a network of its own
        *) trusted_geo+="$proxy 1; " ;;
    esac
done
user=""
[ "$(id -u)" -eq 0 ] && user="user root;"  # a developer's root shell or CI; the image runs as its own user

sed -e "s|@RUN@|$run|g" -e "s|@SOCKET@|$socket|g" -e "s|@LISTEN@|$host:$port|g" -e "s|@USER@|$user|g" \
    -e "s|@TRUSTED@|${trusted:-no one}|g" -e "s|@REAL_IP_FROM@|$real_ip_from|g" -e "s|@TRUSTED_GEO@|$trusted_geo|g" -e "s|@EVERYONE@|$everyone|g" \
    deploy/nginx.conf.template >"$run/nginx.conf"

# Run as a background job: the child in a session of its own where setsid exists (util-linux: Debian,
# the image; not macOS), so that a terminal's Ctrl-C or hang-up reaches this script only. exec: $! is
# the child itself (a background job is no process group leader, so setsid needs no fork either).
detached() {
    if command -v setsid >/dev/null; then exec setsid "$@"; else exec "$@"; fi
}

# --graceful-timeout (wins over gunicorn.conf.py's): with the second nginx may take to go first, gunicorn is
# gone 8 s after SIGTERM at most; nginx's own limit (worker_shutdown_timeout) is 8.5 s.
detached gunicorn -c gunicorn.conf.py --graceful-timeout 7 --bind "unix:$socket" 'app:create_app()' &
gunicorn=$!
nginx=""

stop_both() {
    trap '' TERM INT HUP
    local _
    if [ -n "$nginx" ]; then
        kill -QUIT "$nginx" 2>/dev/null || true  # graceful: stop listening, finish the requests it holds
        # A moment for nginx to pass on the requests it has read whole (gunicorn stops taking new ones):
        # at once when it holds none, 1 s at most, while gunicorn works on what it was given.
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$nginx" 2>/dev/null || break
            sleep 0.1
        done
    fi
    kill -TERM "$gunicorn" 2>/dev/null || true  # graceful: finish the requests in flight (7 s at most)
    # Waited for together: each answer gunicorn gives meanwhile goes out through nginx.
    if [ -n "$nginx" ]; then wait "$nginx" "$gunicorn" 2>/dev/null || true; else wait "$gunicorn" 2>/dev/null || true; fi
}
trap 'stop_both; exit 0' TERM INT HUP

for _ in $(seq 3000); do  # 30 s for gunicorn's master to bind the socket (its workers load the app meanwhile)
    [ -S "$socket" ] && break
    kill -0 "$gunicorn" 2>/dev/null || break
    sleep 0.01
done
if ! [ -S "$socket" ]; then
    echo "serve: gunicorn did not open its socket" >&2
    stop_both
    exit 1
fi

detached "$(command -v nginx || echo /usr/sbin/nginx)" -p "$run" -c "$run/nginx.conf" -e stderr &
nginx=$!
echo "serve: nginx on $host:$port in front of gunicorn (unix:$socket); forwarded addresses trusted from: ${trusted:-no one}" >&2

set +e
wait -n "$gunicorn" "$nginx"
code=$?
set -e
if kill -0 "$gunicorn" 2>/dev/null; then
    echo "serve: nginx stopped (exit $code); stopping gunicorn" >&2
else
    echo "serve: gunicorn stopped (exit $code); stopping nginx" >&2
fi
stop_both
exit $((code == 0 ? 1 : code))
