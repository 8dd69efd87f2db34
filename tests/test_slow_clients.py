"""A slow or malformed client costs the front a connection, never a worker thread: the server as
deployed (deploy/serve.sh: nginx reading whole requests in front of gunicorn's gthread worker on a
unix socket) keeps answering /health and a signed webhook while dozens of connections hold
half-sent requests open, in each of the ways that used to hold a thread (issue 35)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest
import requests
from conftest import free_port, require
from payloads import fb_body, fb_text, platform_env, sign
from servers import nginx_installed, start_served, stop

pytestmark = pytest.mark.slow
THREADS = 2 * 4  # WEB_CONCURRENCY x GUNICORN_THREADS below: every attack opens three times as many connections
ATTACKERS = 3 * THREADS
SLOW = 64

BIG = 2_000_000  # over the 1 MiB the app and the front take
ATTACKS = {
    # A chunked body that is never finished (its bytes even end as a last chunk would).
    "chunked body never finished": b"POST /webhook/telegram HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n100\r\n" + b"a" * 10 + b"0\r\n\r\n",
    # A head over 64 KiB (lines each under any per-line limit) that never ends.
    "head over 64 KiB never finished": b"GET /health HTTP/1.1\r\nHost: x\r\n"
    + (b"X-Pad: " + b"a" * 990 + b"\r\n") * 67,
    # A length with more digits than a short pattern reads: 10 bytes announced, none sent.
    "zero-padded length": b"POST /webhook/telegram HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 00000000000010\r\n\r\n",
    # Too big: refused at once, and the unsent body must not be waited for by a worker.
    "too big, body never sent": b"POST /webhook/telegram HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {BIG}\r\n\r\n".encode(),
    # A whole request, then the start of the next one on the same connection.
    "pipelined after a whole request": b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    b"POST /webhook/telegram HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory, graph, telegram):
    require(nginx_installed(), "nginx (scripts/system-deps.sh installs it) fronts the real server")
    env = os.environ | {
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "STORE_URL": f"sqlite:///{tmp_path_factory.mktemp('slow')}/chatbot.db",
        "LOG_LEVEL": "WARNING",
        **platform_env(graph.url, telegram.url),
    }
    process, base = start_served(env)
    yield base
    stop(process)


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def still_serving(base: str, graph, psid: str) -> None:
    """/health answers at once, over and over, and a signed webhook is answered and replied to."""
    for _ in range(10):
        started = time.monotonic()
        assert requests.get(base + "/health", timeout=3).status_code == 200
        assert time.monotonic() - started < 1.5
    raw = json.dumps(fb_body(fb_text(psid, "help"))).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)}
    assert requests.post(base + "/webhook/messenger", data=raw, headers=headers, timeout=5).status_code == 200
    assert graph.messages(psid)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_half_sent_requests_hold_no_worker(server, graph, attack):
    port = port_of(server)
    held = []
    try:
        for _ in range(ATTACKERS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(ATTACKS[attack])
            held.append(sock)
        time.sleep(0.5)  # every request is in, as far as it will ever go
        still_serving(server, graph, f"psid-{attack.split()[0]}")
        if attack.startswith("too big"):
            held[0].settimeout(2)
            assert held[0].recv(200).startswith(b"HTTP/1.1 413")  # refused without waiting for the body
    finally:
        for sock in held:
            sock.close()


def trickle(port: int, stop_at: float, opened: list, body: bool) -> None:
    """One slow client: the start of a request, then one byte a second until told to stop."""
    sock = socket.create_connection(("127.0.0.1", port))
    if body:
        sock.sendall(b"POST /webhook/messenger HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\nX-Hub-Signature-256: sha256=00\r\n\r\n{")  # fmt: skip
    else:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    opened.append(sock)
    try:
        while time.monotonic() < stop_at:
            time.sleep(1)
            sock.sendall(b"a" if body else b"X-a: b\r\n")
    except OSError:
        pass  # the server closed it (too slow), which is fine
    finally:
        sock.close()


def test_trickling_clients_do_not_stop_the_service(server, graph):
    port = port_of(server)
    opened: list = []
    stop_at = time.monotonic() + 6
    threads = [threading.Thread(target=trickle, args=(port, stop_at, opened, n % 2 == 0)) for n in range(SLOW)]
    for t in threads:
        t.start()
    while len(opened) < SLOW:
        time.sleep(0.05)
    time.sleep(1)  # every slow client is connected and holding its request open
    still_serving(server, graph, "psid-slow")
    for t in threads:
        t.join()


def proxied(n: int) -> dict:
    """A web chat request that says it was forwarded for a new address each time."""
    return {"Authorization": "Bearer web-token-0123456789", "X-Forwarded-For": f"198.51.100.{n}"}


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_the_front_passes_on_a_forwarded_address_only_from_a_trusted_proxy(tmp_path, trusted):
    require(nginx_installed(), "nginx (scripts/system-deps.sh installs it) fronts the real server")
    env = os.environ | {
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "STORE_URL": f"sqlite:///{tmp_path}/chatbot.db",
        "LOG_LEVEL": "WARNING",
        "TRUSTED_PROXIES": trusted,
        "WEB_CHAT_TOKEN": "web-token-0123456789",  # open to any address, not only this machine's
    }
    process, base = start_served(env)
    try:
        statuses = [
            requests.post(base + "/api/chat", json={"text": "hi"}, headers=proxied(n), timeout=10).status_code
            for n in range(25)
        ]
    finally:
        stop(process)
    if trusted:  # a proxy we trust says who connected: 25 people
        assert statuses == [200] * 25
    else:  # anyone else's header is ignored: one address, past its limit on new web identities
        assert statuses[:20] == [200] * 20 and set(statuses[20:]) == {429}


def test_one_address_cannot_hold_every_connection(server, graph):
    """Seventy requests from one address (not this machine's own) that never finish their bodies: the
    front holds 64 of them and answers the rest 429 at once; everyone else is served meanwhile."""
    port, held = port_of(server), []
    head = (b"POST /webhook/messenger HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\nX-Hub-Signature-256: sha256=00\r\n\r\n{")  # fmt: skip
    try:
        for _ in range(70):
            sock = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
            sock.sendall(head)
            held.append(sock)
        time.sleep(0.5)
        extra = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
        extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        extra.settimeout(5)
        assert extra.recv(64).startswith(b"HTTP/1.1 429")
        extra.close()
        still_serving(server, graph, "psid-per-address")
    finally:
        for sock in held:
            sock.close()
