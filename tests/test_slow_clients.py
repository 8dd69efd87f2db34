"""A slow client costs a connection, not a thread: 64 connections trickling a request (a header
byte every few seconds, or a body to /webhook/messenger) while /health and a signed webhook keep
answering, on gunicorn as deployed (gunicorn.conf.py, readahead.ReadAheadWorker)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest
import requests
from conftest import free_port
from payloads import fb_body, fb_text, platform_env, sign
from servers import start_gunicorn, stop

from chatbot.service.readahead import complete

pytestmark = pytest.mark.slow
SLOW = 64


@pytest.fixture
def server(tmp_path, graph, telegram):
    env = os.environ | {
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "8",
        "STORE_URL": f"sqlite:///{tmp_path}/chatbot.db",
        "LOG_LEVEL": "WARNING",
        **platform_env(graph.url, telegram.url),
    }
    process, base = start_gunicorn(env)
    yield base
    stop(process)


def trickle(port: int, stop_at: float, opened: list, body: bool) -> None:
    """One slow client: the start of a request, then one byte every two seconds until told to stop."""
    sock = socket.create_connection(("127.0.0.1", port))
    if body:
        sock.sendall(b"POST /webhook/messenger HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\nX-Hub-Signature-256: sha256=00\r\n\r\n{")  # fmt: skip
    else:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    opened.append(sock)
    try:
        while time.monotonic() < stop_at:
            time.sleep(2)
            sock.sendall(b"a" if body else b"X-a: b\r\n")
    except OSError:
        pass  # the server closed it (too slow), which is fine
    finally:
        sock.close()


def test_slow_clients_do_not_stop_the_service(server, graph):
    port = int(server.rsplit(":", 1)[1])
    opened: list = []
    stop_at = time.monotonic() + 12
    threads = [threading.Thread(target=trickle, args=(port, stop_at, opened, n % 2 == 0)) for n in range(SLOW)]
    for t in threads:
        t.start()
    while len(opened) < SLOW:
        time.sleep(0.05)
    time.sleep(1)  # every slow client is connected and holding its request open
    health = [requests.get(server + "/health", timeout=5).status_code for _ in range(20)]
    raw = json.dumps(fb_body(fb_text("psid-slow", "help"))).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)}
    webhook = requests.post(server + "/webhook/messenger", data=raw, headers=headers, timeout=10)
    for t in threads:
        t.join()
    assert health == [200] * 20
    assert webhook.status_code == 200 and graph.messages("psid-slow")


@pytest.mark.parametrize(
    "buffer, done",
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n", False),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc", False),
        (b"POST / HTTP/1.1\r\ncontent-length: 5\r\n\r\nabcde", True),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", True),  # too big to wait for: 413 from the head
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", False),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", True),
        (b"G" * (70 * 1024), True),  # a head past the limit goes to the parser, which refuses it
    ],
)
def test_what_counts_as_a_whole_request(buffer, done):
    assert complete(buffer) is done
