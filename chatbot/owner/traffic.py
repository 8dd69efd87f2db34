"""What the service answered, counted in memory and written to the store at most once a minute.

Every response is counted by route family (a channel's route, the tasks, the dashboard, the pages,
addresses the service does not have) and status class (``2xx`` ... ``5xx``) under the minute it
was answered. A channel's route also keeps when the service last heard from the platform (a POST
that was not turned away with a 4xx) and when it last answered one in full (a 2xx: the updates are
recorded and every reply went out). ``/health`` is not counted: uptime checks call it all day, it
touches nothing, and counting it would cost a write a minute on an idle bot.

Once a minute at most, per process, a thread of its own adds what was counted to the document of
the hour (``traffic:h<hour % 48>``, 48 of them reused in turn, so they never pile up), and every
instance adds to the same one: the dashboard sees them all. While the service is busy that is one
read and one write a minute per process (1,440 a day at most, of Firestore's 20,000 free); while it
is idle, one per run of the scheduled job. The request that finds a minute has passed only wakes
the thread: it never waits for the store and cannot fail because of it. What a failed write held
is kept for the next one. The scheduled job and the dashboard write their own process's counts at
once, before they read.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from functools import partial

from chatbot.core import channels as registry
from chatbot.store.base import Change, Store

WRITE_EVERY = 60.0  # seconds between two writes of one process
RING = 48  # hourly documents, reused in turn: two days of history
KEY = "traffic:h"
HEARD, ANSWERED = "heard", "answered"
UNKNOWN = "unknown"  # no route matched: a 404 for an address the service does not have
NOT_COUNTED = ("/health",)


def family(rule: str | None) -> str | None:
    """The family a response is counted under, from the route that matched; None: not counted."""
    if rule is None:
        return UNKNOWN
    if rule in NOT_COUNTED:
        return None
    for info in registry.CHANNELS:
        if rule == info.route:
            return info.name
    if rule.startswith("/tasks/"):
        return "tasks"
    if rule.startswith("/admin"):
        return "dashboard"
    return "pages"


def status_class(status: int) -> str:
    return f"{min(max(status // 100, 1), 5)}xx"


def key(hour: int) -> str:
    return f"{KEY}{hour % RING}"


Minutes = Counter  # (minute since 1970, family, status class) -> responses
Last = dict  # channel -> {HEARD: time, ANSWERED: time}


class Traffic:
    """One process's counts since its last write, and the thread that writes them."""

    def __init__(self, clock: Callable[[], float], every: float = WRITE_EVERY):
        self.clock = clock
        self.every = every
        self.hour_written: int | None = None  # the newest hour this process wrote (older ones are carried)
        self._lock = threading.Lock()
        self._counts: Minutes = Counter()
        self._last: Last = {}
        self._written_at = clock()  # a process writes a minute after it starts, not on its first request
        self._idle = threading.Event()
        self._idle.set()
        self._wanted = threading.Event()
        self._work: Callable[[], object] | None = None
        self._thread: threading.Thread | None = None

    def count(self, rule: str | None, method: str, status: int) -> bool:
        """Count one response. True when a minute has passed since the last write and no write is under
        way: the caller should have one made (``in_background``); one caller at a time is told so."""
        name = family(rule)
        if name is None:
            return False
        now, kind = self.clock(), status_class(status)
        with self._lock:
            self._counts[(int(now // 60), name, kind)] += 1
            if method == "POST" and name in registry.NAMES and kind != "4xx":
                seen = self._last.setdefault(name, {})
                seen[HEARD] = max(seen.get(HEARD, 0.0), now)
                if kind == "2xx":
                    seen[ANSWERED] = max(seen.get(ANSWERED, 0.0), now)
            due = now - self._written_at >= self.every and self._idle.is_set()
            if due:
                self._written_at = now
                self._idle.clear()
        return due

    def in_background(self, work: Callable[[], object]) -> None:
        """Run ``work`` on this process's writer thread (started on first use: after gunicorn forks)."""
        with self._lock:
            self._work = work
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="traffic-writer", daemon=True)
                self._thread.start()
        self._wanted.set()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                if self._work is not None:
                    self._work()  # it logs its own failures; the counts it took are given back
            except Exception:  # noqa: S110 - nothing to add: the thread must live on
                pass
            finally:
                self._idle.set()

    def wait(self, timeout: float = 10.0) -> bool:
        """Until no background write is under way (for tests and for shutting down)."""
        return self._idle.wait(timeout)

    def take(self) -> tuple[Minutes, Last]:
        with self._lock:
            counts, last = self._counts, self._last
            self._counts, self._last = Counter(), {}
            self._written_at = self.clock()
        return counts, last

    def give_back(self, counts: Minutes, last: Last) -> None:
        with self._lock:
            self._counts.update(counts)
            self._last = merge(self._last, last)


def merge(*lasts: Last) -> Last:
    """The newest time of each kind, per channel."""
    out: Last = {}
    for last in lasts:
        for channel, seen in (last or {}).items():
            mine = out.setdefault(channel, {})
            for kind, at in (seen or {}).items():
                mine[kind] = max(float(at), mine.get(kind, 0.0))
    return out


def write(store: Store, traffic: Traffic) -> int:
    """Add this process's counts to the hours' documents; how many documents were written. On a
    failure what was not written goes back to ``traffic`` and the error is raised."""
    counts, last = traffic.take()
    if not counts:
        return 0
    hours: dict[int, Minutes] = {}
    for (minute, name, kind), n in counts.items():
        hours.setdefault(minute // 60, Counter())[(minute, name, kind)] += n
    newest = max(hours)
    written = 0
    for hour in sorted(hours):
        try:
            seen: Last = {}
            if hour == newest:
                # The first write of an hour by this process carries the last times the hours before knew.
                seen = merge(carried(store, hour), last) if hour != traffic.hour_written else last
            store.transact(key(hour), partial(add, hour, hours[hour], seen))
        except Exception:
            traffic.give_back(sum((hours[h] for h in hours if h >= hour), Counter()), last)
            raise
        written += 1
    traffic.hour_written = newest
    return written


def add(hour: int, counts: Minutes, seen: Last, doc: dict | None) -> tuple[Change, None]:
    current = doc if doc and doc.get("hour") == hour else {}  # a slot last used two days ago starts over
    cells = json.loads(current.get("counts") or "{}")
    for (minute, name, kind), n in counts.items():
        cell = cells.setdefault(str(minute % 60), {}).setdefault(name, {})
        cell[kind] = cell.get(kind, 0) + n
    # The counts travel as one string: Firestore indexes every field of a map, and these are many.
    packed = json.dumps(cells, separators=(",", ":"), sort_keys=True)
    return Change({"hour": hour, "counts": packed, "last": merge(current.get("last") or {}, seen)}), None


def load_hour(store: Store, hour: int) -> dict | None:
    doc = store.load(key(hour))
    return doc if doc and doc.get("hour") == hour else None


def carried(store: Store, hour: int) -> Last:
    """The last times known to the newest document before ``hour`` (none when the service was silent
    for two days): usually one read, of the hour just before."""
    for before in range(hour - 1, hour - RING, -1):
        doc = load_hour(store, before)
        if doc is not None:
            return doc.get("last") or {}
    return {}


def last_hour(store: Store, now: float) -> dict:
    """The last 60 minutes, all instances: responses per family and status class, the 5xx share (of the
    bot's routes: neither /health nor unknown addresses), and when each channel was last heard and answered."""
    hour, minute = int(now // 3600), int(now // 60)
    families: dict[str, Counter] = {}
    last: Last = {}
    for h in (hour - 1, hour):
        doc = load_hour(store, h)
        if doc is None:
            continue
        for at, cell in json.loads(doc.get("counts") or "{}").items():
            if minute - 60 < h * 60 + int(at) <= minute:
                for name, kinds in cell.items():
                    families.setdefault(name, Counter()).update(kinds)
        last = merge(last, doc.get("last") or {})
    if not last:
        last = carried(store, hour - 1)
    counted = [kinds for name, kinds in families.items() if name != UNKNOWN]
    requests = sum(sum(kinds.values()) for kinds in counted)
    errors = sum(kinds.get("5xx", 0) for kinds in counted)
    return {
        "requests": requests,
        "errors": errors,
        "share": errors / requests if requests else 0.0,
        "families": {name: dict(sorted(kinds.items())) for name, kinds in sorted(families.items())},
        "last": last,
    }
