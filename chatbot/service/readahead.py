"""A gunicorn worker that reads each request whole before a thread takes it.

gunicorn's threaded worker hands a connection to a thread as soon as its
first byte arrives; a client that then sends a byte every few seconds holds
that thread for as long as it likes, and a few dozen such clients stop the
service. Here the event loop reads the request head and its body without
blocking, keeps at most one request's bytes per connection, and gives the
connection to a thread only once the request is complete, so a slow client
costs a connection and a little memory, not a thread. A request that is not
complete within ``READ_SECONDS`` is dropped.

Use: ``worker_class = "chatbot.service.readahead.ReadAheadWorker"`` (gunicorn.conf.py).
"""

from __future__ import annotations

import contextlib
import errno
import re
import selectors
import time
from functools import partial

from gunicorn import http
from gunicorn.workers.gthread import TConn, ThreadWorker

READ_SECONDS = 10.0  # to send one whole request; Meta and Telegram send theirs in one go
MAX_HEAD = 64 * 1024  # larger heads go straight to gunicorn's parser, which refuses them
MAX_BODY = 1024 * 1024  # larger bodies too: the app answers 413 from the head alone
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d{1,12})[ \t]*(?=\r\n|$)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.IGNORECASE)


def complete(buffer: bytes | bytearray) -> bool:
    """Whether ``buffer`` holds a whole request (or one too big to wait for)."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return len(buffer) > MAX_HEAD
    head, body = bytes(buffer[:end]), len(buffer) - end - 4
    if _CHUNKED.search(head):
        return buffer.endswith(b"0\r\n\r\n") or body > MAX_BODY
    length = _LENGTH.search(head)
    if length is None:
        return True
    wanted = int(length.group(1))
    return wanted > MAX_BODY or body >= wanted


class ReadAheadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading: dict[TConn, tuple[bytearray, float]] = {}

    def accept(self, listener) -> None:
        try:
            client, address = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self.read_ahead(TConn(self.cfg, client, address, listener.getsockname()))

    def on_client_socket_readable(self, conn, client) -> None:
        """A kept-alive connection's next request is starting: read it whole too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self.read_ahead(conn)

    def read_ahead(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        self.reading[conn] = (bytearray(), time.monotonic() + READ_SECONDS)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_request_bytes, conn))

    def on_request_bytes(self, conn: TConn, client) -> None:
        buffer, _ = self.reading[conn]
        try:
            chunk = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client went away
            self.drop(conn)
            return
        buffer += chunk
        if not complete(buffer):
            return
        self.poller.unregister(conn.sock)
        del self.reading[conn]
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(bytes(buffer))
        conn.data_ready = True
        self.enqueue_req(conn)

    def drop(self, conn: TConn) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):  # already gone from the poller
            self.poller.unregister(conn.sock)
        self.reading.pop(conn, None)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Also close connections that did not send a whole request in time."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c, (_, deadline) in self.reading.items() if deadline < now]:
            self.log.debug("closing a connection that did not send its request within %ss", READ_SECONDS)
            self.drop(conn)
