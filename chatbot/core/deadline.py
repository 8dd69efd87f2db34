"""How long the request at hand may still take, for every store call made on its behalf.

A platform waits about 20 seconds for an answer (Messenger's limit); a request that spends them
waiting on a busy store answers nothing useful. The webhook path sets a deadline; each store call
gets at most the time left (SQLite's busy timeout, Firestore's per-call deadline) instead of its
own full bound, so two slow calls cannot add up past it.
"""

from __future__ import annotations

import contextlib
import contextvars
import time

_until: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


@contextlib.contextmanager
def within(seconds: float):
    """Everything in the block shares ``seconds`` (a deadline already set outside stays, if sooner)."""
    outer = _until.get()
    until = time.monotonic() + seconds
    token = _until.set(until if outer is None else min(outer, until))
    try:
        yield
    finally:
        _until.reset(token)


def left(bound: float) -> float:
    """The time a call may take: ``bound``, or less when the request's deadline is nearer (0 once past)."""
    until = _until.get()
    return bound if until is None else max(0.0, min(bound, until - time.monotonic()))


@contextlib.contextmanager
def extended(seconds: float):
    """Within the block the deadline is ``seconds`` later: for the write that records what already
    happened outside (a message the platform took), which is worth a little past the deadline
    (the platform's own limit is a few seconds beyond it) rather than a resend later."""
    outer = _until.get()
    token = _until.set(None if outer is None else max(outer, time.monotonic()) + seconds)
    try:
        yield
    finally:
        _until.reset(token)


def fitted(timeout: tuple[float, float], least_read: float = 1.0) -> tuple[float, float]:
    """A (connect, read) timeout cut to what the request has left, the read never under ``least_read``."""
    connect, read = timeout
    time_left = left(connect + read)
    if time_left >= connect + read:
        return timeout
    return connect, max(least_read, min(read, time_left - connect))
