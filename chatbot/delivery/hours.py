"""When a person is around to answer a handoff: the owner's office hours (``HANDOFF_HOURS``).

Written the way a person says them: ``mon-fri 09:00-17:00 +01:00`` (days, a time range, the
offset from UTC of the clock they are read on). The days are a range (``mon-fri``), a list
(``mon,wed,fri``) or ``daily``; the times ``9-17`` or ``09:30-17:30``; the offset ``+1``,
``-05:00`` or ``UTC`` (the default). A fixed offset, not a zone: the bot promises "roughly
when", and an hour off for part of the year does not change the answer a learner needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK = 7 * 86400
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?-(\d{1,2})(?::(\d{2}))?$")
_OFFSET = re.compile(r"^(?:utc)?([+-])(\d{1,2})(?::?(\d{2}))?$")


@dataclass(frozen=True)
class OfficeHours:
    days: frozenset[int]  # 0 is Monday
    start: int  # minutes after midnight, on the owner's clock
    end: int
    offset: int  # seconds east of UTC

    def around(self, now: float) -> bool:
        local = now + self.offset
        day, minute = int(local // 86400 + 3) % 7, int(local % 86400 // 60)  # 1970-01-01 was a Thursday
        return day in self.days and self.start <= minute < self.end

    def next_start(self, now: float) -> float:
        """When the office next opens (``now`` itself while it is open)."""
        if self.around(now):
            return now
        local = now + self.offset
        midnight = local - local % 86400
        for ahead in range(8):
            at = midnight + ahead * 86400 + self.start * 60
            if at > local and int(at // 86400 + 3) % 7 in self.days:
                return at - self.offset
        return now + WEEK  # no day at all: parse() refuses that, so never here

    def describe(self) -> str:
        """The hours as the owner wrote them, normalised (for doctor and the dashboard)."""
        days = ",".join(DAYS[d] for d in sorted(self.days))
        sign = "+" if self.offset >= 0 else "-"
        hours, minutes = divmod(abs(self.offset) // 60, 60)
        return f"{days} {clock(self.start)}-{clock(self.end)} UTC{sign}{hours:02d}:{minutes:02d}"


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse(text: str) -> OfficeHours | None:
    """The office hours ``text`` says; None for none (empty). ``ValueError`` says what is wrong."""
    words = text.lower().split()
    if not words:
        return None
    if len(words) not in (2, 3):
        raise ValueError(f"HANDOFF_HOURS={text!r}: write days, hours and an offset, like 'mon-fri 09:00-17:00 +01:00'")
    days = parse_days(words[0])
    found = _TIME.match(words[1])
    if not found:
        raise ValueError(f"HANDOFF_HOURS={text!r}: the hours are a range like 9-17 or 09:30-17:30")
    start = int(found[1]) * 60 + int(found[2] or 0)
    end = int(found[3]) * 60 + int(found[4] or 0)
    if not 0 <= start < end <= 24 * 60:
        raise ValueError(f"HANDOFF_HOURS={text!r}: the hours must end after they start, within one day")
    offset = parse_offset(words[2]) if len(words) == 3 else 0
    return OfficeHours(days, start, end, offset)


def parse_days(word: str) -> frozenset[int]:
    if word in ("daily", "every-day", "mon-sun"):
        return frozenset(range(7))
    found: set[int] = set()
    for part in word.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"HANDOFF_HOURS: {word!r} is not days like mon-fri, mon,wed,fri or daily")
        a, b = DAYS.index(first), DAYS.index(last or first)
        found.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(found)


def parse_offset(word: str) -> int:
    if word in ("utc", "gmt", "z"):
        return 0
    found = _OFFSET.match(word)
    if not found or int(found[2]) > 14:
        raise ValueError(f"HANDOFF_HOURS: {word!r} is not an offset from UTC like +01:00, -5 or UTC")
    seconds = int(found[2]) * 3600 + int(found[3] or 0) * 60
    return seconds if found[1] == "+" else -seconds
