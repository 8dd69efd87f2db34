"""One-line JSON logs on stdout, in the shape Cloud Logging parses.

Every record carries ``severity`` and ``message``; inside a request it also
carries the trace (``logging.googleapis.com/trace``) so the lines of one
request group together in the console. Known secret values are scrubbed from
every line before it is written.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable

_trace: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace", default=None)

LOGGER_NAME = "chatbot"
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def trace_from_headers(headers, project: str) -> str | None:
    """The Cloud Logging trace name from ``X-Cloud-Trace-Context`` or W3C ``traceparent``."""
    trace_id = ""
    cloud = headers.get("X-Cloud-Trace-Context", "")
    if cloud:
        trace_id = cloud.split("/", 1)[0]
    else:
        parts = headers.get("traceparent", "").split("-")
        if len(parts) == 4 and len(parts[1]) == 32:
            trace_id = parts[1]
    if not trace_id or not all(c in "0123456789abcdefABCDEF" for c in trace_id):
        return None
    return f"projects/{project}/traces/{trace_id}" if project else trace_id


def request_fields(request) -> dict:
    """Cloud Logging's httpRequest for an error line: the path only, never the query string
    (the Messenger handshake carries the verify token there) and no headers but the agent."""
    return {
        "requestMethod": request.method,
        "requestUrl": request.path,
        "userAgent": request.headers.get("User-Agent", "")[:200],
        "remoteIp": client_address(request),
    }


def from_front(request) -> bool:
    """Whether the request came through the service's own front: nginx, which deploy/serve.sh puts
    before gunicorn on a unix socket (gunicorn gives such a peer no address). Nobody else can reach it."""
    return not request.remote_addr


def client_address(request) -> str:
    """The client's address, which a client cannot choose. From the front, the last X-Forwarded-For
    entry: the front sends exactly one, the address it trusts (Cloud Run's front end's word for who
    connected, or its own peer's; deploy/nginx.conf.template). From anyone else (gunicorn reached
    directly) the header is the client's own words and is ignored: the peer's address."""
    if not from_front(request):
        return str(request.remote_addr)[:64]
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    return (forwarded[-1] if forwarded else "")[:64]


def set_trace(trace: str | None) -> contextvars.Token:
    return _trace.set(trace)


def reset_trace(token: contextvars.Token) -> None:
    _trace.reset(token)


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Callable[[], Iterable[str]] = tuple):
        super().__init__()
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "severity": record.levelname if record.levelname != "WARN" else "WARNING",
            "message": record.getMessage(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "logger": record.name,
        }
        trace = _trace.get()
        if trace:
            entry["logging.googleapis.com/trace"] = trace
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        line = json.dumps(entry, ensure_ascii=False, default=str)
        for secret in self._secrets():
            if secret in line:
                line = line.replace(secret, "[redacted]")
        return line


def setup(level: str = "INFO", secrets: Callable[[], Iterable[str]] = tuple, stream=None) -> logging.Logger:
    """Point the app's logger at stdout as JSON lines; safe to call more than once."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter(secrets))
    handler.set_name("chatbot-json")
    # Replace our own handler from an earlier call, keep anyone else's (a test's collector).
    logger.handlers[:] = [h for h in logger.handlers if h.get_name() != "chatbot-json"] + [handler]
    logger.propagate = False
    return logger


class _Logger(logging.LoggerAdapter):
    """The app's logger, whose ``extra`` may name anything: a key that a log record already has
    ("thread", "name", "message") would make the logging call itself raise, so it is kept as
    "thread_" instead."""

    def process(self, msg, kwargs):
        extra = kwargs.get("extra")
        if extra and not _STANDARD_ATTRS.isdisjoint(extra):
            kwargs["extra"] = {(f"{key}_" if key in _STANDARD_ATTRS else key): value for key, value in extra.items()}
        return msg, kwargs


def get() -> logging.LoggerAdapter:
    return _Logger(logging.getLogger(LOGGER_NAME), None)
