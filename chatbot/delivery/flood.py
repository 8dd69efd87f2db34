"""How fast one person may write: two token buckets kept in their conversation's document.

A bucket holds up to ``capacity`` tokens and refills at ``capacity`` per
``period``; each message takes one. The per-minute bucket stops a script, the
per-day bucket a patient one; the defaults never stop a person typing. When a
bucket is empty the person is told once, and until it is full again further
messages are dropped before anything is written: a flood costs a read per
message and no write. Dropped messages are counted in memory and the count
rides along with the person's next accepted message.
"""

from __future__ import annotations

from dataclasses import dataclass

OK, WARN, DROP = "ok", "warn", "drop"


@dataclass(frozen=True)
class Limit:
    per_minute: int = 20
    per_day: int = 500

    def buckets(self) -> tuple[tuple[str, float, float], ...]:
        """(name, capacity, period in seconds) of each bucket."""
        return (("minute", float(self.per_minute), 60.0), ("day", float(self.per_day), 86400.0))


def take(state: dict, limit: Limit, now: float) -> tuple[str, str]:
    """Spend one token of each bucket in ``state`` (changed in place). Returns the verdict and,
    when the person is over, which bucket ran out ("minute" or "day")."""
    if now < state.get("quiet_until", 0):
        return DROP, state.get("over", "minute")
    levels = {}
    for name, capacity, period in limit.buckets():
        bucket = state.get(name) or {"tokens": capacity, "at": now}
        tokens = min(capacity, bucket["tokens"] + max(0.0, now - bucket["at"]) * capacity / period)
        levels[name] = (tokens, capacity, period)
    empty = next((name for name, (tokens, _, _) in levels.items() if tokens < 1), "")
    if empty:
        tokens, capacity, period = levels[empty]
        # Quiet until the empty bucket is full again: one warning per flood, not one per token.
        state["quiet_until"] = now + (capacity - tokens) * period / capacity
        state["over"] = empty
        for name, (level, _, _) in levels.items():
            state[name] = {"tokens": level, "at": now}
        return WARN, empty
    for name, (tokens, _, _) in levels.items():
        state[name] = {"tokens": tokens - 1, "at": now}
    state.pop("quiet_until", None)
    state.pop("over", None)
    return OK, ""


class Guard:
    """The limit, and this process's count of messages dropped per conversation and not yet written."""

    def __init__(self, limit: Limit | None = None):
        import threading

        self.limit = limit or Limit()
        self._dropped: dict[str, int] = {}
        self._lock = threading.Lock()

    def drop(self, key: str) -> int:
        """Count one dropped message; how many are now waiting to be written for ``key``."""
        with self._lock:
            self._dropped[key] = self._dropped.pop(key, 0) + 1
            if len(self._dropped) > 10_000:  # forget the oldest floods rather than grow
                self._dropped.pop(next(iter(self._dropped)))
            return self._dropped[key]

    def pending(self, key: str) -> int:
        with self._lock:
            return self._dropped.get(key, 0)

    def written(self, key: str, count: int) -> None:
        """``count`` of the dropped messages of ``key`` are in its document now."""
        with self._lock:
            left = self._dropped.pop(key, 0) - count
            if left > 0:
                self._dropped[key] = left
