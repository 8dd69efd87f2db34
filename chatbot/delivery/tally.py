"""What the owner's stats count, kept in each conversation's document: no write of its own.

Per UTC day (``d<days since 1970>``), for the last KEEP_DAYS days: messages the
person sent (``m``), the ones the bot did not understand (``f``), assignments
done (``a``), skills started (``s``) and finished (``F``), reminders sent
(``r``), held for later (``h``) and refused by the platform (``x``),
announcements sent (``n``), and handoffs to a person opened (``o``), closed
(``c``), first answered (``p``) and the seconds those first answers took
(``w``). A day the document is touched carries all of them (zeros too):
Firestore sums several fields in one query only over documents that have
every one of them. Once a day has passed, the scheduled job rolls it
up into one small document (stats.py), so each conversation keeps only a few
days. Totals that never expire say how far the person got (``picked``,
``done``, ``finished``), for the funnel. The last few unmatched phrasings are
kept too, normalised (folded, numbers and links masked, no user id).
"""

from __future__ import annotations

from chatbot.core.text import plain_text
from chatbot.engine import linear
from chatbot.engine.understand import fold

KEEP_DAYS = 3  # today, and the days the daily roll-up may still need
KEEP_UNMATCHED = 5
# What is counted, by the one-letter key it is stored under (every conversation document carries
# them, so they stay short) and the name the stats give it.
MESSAGES, FALLBACKS, ASSIGNMENTS_DONE = "m", "f", "a"
SKILLS_STARTED, SKILLS_FINISHED = "s", "F"
REMINDERS_SENT, REMINDERS_HELD, REMINDERS_REFUSED, ANNOUNCEMENTS_SENT = "r", "h", "x", "n"
# Handoffs to a person: opened, closed, first answered by a person, and the seconds those first
# answers took, together (their mean is the time to the first human answer).
HANDOFFS_OPENED, HANDOFFS_CLOSED, HANDOFFS_ANSWERED, HANDOFF_WAIT_SECONDS = "o", "c", "p", "w"
KINDS = {
    MESSAGES: "messages",
    FALLBACKS: "fallbacks",
    ASSIGNMENTS_DONE: "assignments_done",
    SKILLS_STARTED: "skills_started",
    SKILLS_FINISHED: "skills_finished",
    REMINDERS_SENT: "reminders_sent",
    REMINDERS_HELD: "reminders_held",
    REMINDERS_REFUSED: "reminders_refused",
    ANNOUNCEMENTS_SENT: "announcements_sent",
    HANDOFFS_OPENED: "handoffs_opened",
    HANDOFFS_CLOSED: "handoffs_closed",
    HANDOFFS_ANSWERED: "handoffs_answered",
    HANDOFF_WAIT_SECONDS: "handoff_wait_seconds",
}
# RE2 (linear time): with a backtracking engine this pattern is cubic on a run of '@' (issue 35).
_LINK = linear.compile(r"(https?://|www\.)\S+|\S+@\S+\.\S+")
_NUMBER = linear.compile(r"\d+")


def day(now: float) -> int:
    return int(now // 86400)


def add(tally: dict, kind: str, now: float, count: int = 1) -> None:
    """Count ``count`` of ``kind`` today (every kind of today present, zeros too); forget old days."""
    today = f"d{day(now)}"
    counters = tally.setdefault(today, {})
    for name in KINDS:
        counters.setdefault(name, 0)
    counters[kind] += max(count, 0)
    for stale in [k for k in tally if k.startswith("d") and k[1:].isdigit() and int(k[1:]) <= day(now) - KEEP_DAYS]:
        del tally[stale]


def phrasing(text: str) -> str:
    """An unmatched message as the owner sees it: without control or format characters (C0, C1, bidi
    overrides, zero-width), folded, links and numbers masked, at most 60 characters."""
    text = _NUMBER.sub("#", _LINK.sub("<link>", fold(plain_text(text))))
    return " ".join(text.split())[:60]


def changed(before: dict, after: dict, stamp: str) -> int:
    return sum(1 for k, v in after.items() if v.get(stamp) and v.get(stamp) != (before.get(k) or {}).get(stamp))


def turn(tally: dict, before: dict, after: dict, missed_text: str | None, now: float) -> None:
    """Count what one message of the person did: ``before`` and ``after`` are the engine's progress."""
    add(tally, MESSAGES, now)
    if missed_text is not None:
        add(tally, FALLBACKS, now)
        said = phrasing(missed_text)
        if said:
            tally["u"] = [*tally.get("u", []), {"day": day(now), "text": said}][-KEEP_UNMATCHED:]
            tally["lastmiss"] = day(now)
    started, finished = changed(before, after, "started_at"), changed(before, after, "finished_at")
    done = sum(len(v.get("done", [])) for v in after.values()) - sum(len(v.get("done", [])) for v in before.values())
    add(tally, SKILLS_STARTED, now, started)
    add(tally, SKILLS_FINISHED, now, finished)
    add(tally, ASSIGNMENTS_DONE, now, done)
    for name, count in (("picked", started), ("done", max(done, 0)), ("finished", finished)):
        if count:
            tally[name] = tally.get(name, 0) + count
