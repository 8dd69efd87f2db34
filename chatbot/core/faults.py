"""Named points on the path of a delivery where a test can make this process fail.

The crash tests start the real server with ``CHATBOT_FAULTS`` naming points and what happens
there the n-th time each is reached, e.g. ``after-send:kill@3`` (SIGKILL this process on the third
message sent) or ``before-progress:fail@2`` (the store call there raises, as a store that is gone
would). ``pause`` stops the process at the point for ``CHATBOT_FAULT_PAUSE`` seconds, so a test
can act from outside at exactly that moment (jump the clock, stop the store). Each point that
fires is written first to the file ``CHATBOT_FAULT_MARK``, and a point listed there never fires
again: a worker that was killed and started anew does not repeat it. Without the variable, a point
costs one truth test.
"""

from __future__ import annotations

import os
import signal
import threading
import time

POINTS = (
    "before-write",  # an update is about to be applied and its replies queued and claimed
    "after-write",  # they are recorded; nothing is sent yet
    "after-send",  # the platform took a message; that it went out is not recorded yet
    "before-progress",  # the store call that records it
    "after-progress",  # recorded; the next message is not sent yet
    "after-topic",  # a learner's topic was made in the owner's inbox; that it was is not recorded yet
)


class Injected(RuntimeError):
    """A failure a test asked for at a named point: to the caller, a store that could not be reached."""


def parse(spec: str) -> dict[str, tuple[str, int]]:
    plan = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        point, _, rest = part.partition(":")
        action, _, nth = rest.partition("@")
        if point not in POINTS or action not in ("kill", "fail", "pause"):
            raise ValueError(f"CHATBOT_FAULTS: {part!r}: use POINT:kill|fail|pause[@N], POINT one of {POINTS}")
        plan[point] = (action, int(nth or 1))
    return plan


_PLAN = parse(os.environ.get("CHATBOT_FAULTS", ""))
_seen: dict[str, int] = {}
_lock = threading.Lock()


def point(name: str) -> None:
    if not _PLAN or name not in _PLAN:
        return
    action, nth = _PLAN[name]
    mark = os.environ.get("CHATBOT_FAULT_MARK", "")
    with _lock:
        _seen[name] = _seen.get(name, 0) + 1
        if _seen[name] != nth or mark and fired(mark, name):
            return
        if mark:
            with open(mark, "a", encoding="utf-8") as handle:
                handle.write(f"{name} {action} {os.getpid()}\n")
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "fail":
        raise Injected(f"fault injected at {name}")
    time.sleep(float(os.environ.get("CHATBOT_FAULT_PAUSE", "5")))


def fired(mark: str, name: str) -> bool:
    try:
        with open(mark, encoding="utf-8") as handle:
            return any(line.split(" ", 1)[0] == name for line in handle)
    except FileNotFoundError:
        return False
