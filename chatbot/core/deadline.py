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
