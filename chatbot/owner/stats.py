"""The owner's numbers for a period, from the conversation documents alone.

Everything comes from the counters each message's own write keeps (tally.py),
a handful of queries (counts and sums: Firestore's aggregation queries, one
read per 1,000 index entries they touch and at least one each; plain SQL on
SQLite), and one small roll-up document per finished day, which the scheduled
job writes (and a view writes if the job has not yet). A roll-up holds counts
only: what the bot did not understand is read from the people's own documents
(each keeps its last few phrasings), so it goes when the person is forgotten.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from functools import partial

from chatbot.core import channels as registry
from chatbot.delivery import tally
from chatbot.delivery.tally import KEEP_DAYS, KINDS, day
from chatbot.store.base import Backend, Change

ACTIVE_DAYS = (1, 7, 30)
MAX_DAYS = 60
TOP_UNMATCHED = 10
TALLY = "delivery.tally"
ROLLUP = "stats:"  # the key prefix of the daily roll-ups, kept with the conversations
ROLLUP_FIELDS = ["rollup_day", *KINDS.values(), "new_users", "unmatched"]  # "unmatched": only in older roll-ups


def date_of(day_number: int) -> str:
    return datetime.fromtimestamp(day_number * 86400, tz=UTC).strftime("%Y-%m-%d")


def channel_range(channel: str) -> list[tuple[str, str, str]]:
    """Conversation keys of one channel: "telegram:..." sorts between "telegram:" and "telegram;"."""
    return [("key", ">=", f"{channel}:"), ("key", "<", f"{channel};")]


def collect(store: Backend, days: int = 30, now: float | None = None) -> dict:
    """The stats for the ``days`` days up to today (UTC), as the JSON `flask stats --json` prints."""
    now = time.time() if now is None else now
    days = max(1, min(int(days), MAX_DAYS))
    today = day(now)
    period = list(range(today - days + 1, today + 1))
    rolled = {row["rollup_day"]: row for row in store.scan(ROLLUP_FIELDS, [("rollup_day", ">=", period[0])])}
    for n in [n for n, row in rolled.items() if row.get("unmatched")]:  # rolled up with phrasings, before
        store.transact(f"{ROLLUP}d{n}", without_phrasings)
    per_day = {n: rolled.get(n) or day_live(store, n) for n in period}
    for n in period[:-1]:
        if n not in rolled:  # a finished day the scheduled job has not rolled up (no scheduler locally)
            store.transact(f"{ROLLUP}d{n}", partial(keep_once, per_day[n] | {"rollup_day": n}))
    users = {channel: store.count(channel_range(channel)) for channel in registry.NAMES}
    series = {
        name: {date_of(n): int(per_day[n].get(name) or 0) for n in period} for name in [*KINDS.values(), "new_users"]
    }
    return {
        "period": {"days": days, "from": date_of(period[0]), "to": date_of(period[-1])},
        "users": users,
        "users_total": sum(users.values()),
        "active": {str(n): store.count([("last_message_at", ">=", now - n * 86400)]) for n in ACTIVE_DAYS},
        "new_users": sum(series["new_users"].values()),
        "new_users_per_day": series["new_users"],
        "messages": sum(series["messages"].values()),
        "messages_per_day": series["messages"],
        **{name: sum(series[name].values()) for name in KINDS.values() if name != "messages"},
        "funnel": funnel(store),
        "unmatched": unmatched(store, period[0]),
        **handoffs(store, series),
    }


def handoffs(store: Backend, series: dict) -> dict:
    """Handed to a person: open now, and the mean time to a person's first answer over the period
    (seconds; None when nobody was answered). Opened and closed are the tallies' own totals."""
    answered = sum(series["handoffs_answered"].values())
    waited = sum(series["handoff_wait_seconds"].values())
    return {
        "handoffs_open": store.count([("delivery.handoff.open", "==", True)]),
        "handoff_first_answer_seconds": round(waited / answered) if answered else None,
    }


def day_live(store: Backend, n: int) -> dict:
    """One day's numbers from the conversations: the day's counters summed (every document touched
    that day has all of them) and the people who first wrote that day."""
    fields = [f"{TALLY}.d{n}.{kind}" for kind in KINDS]
    sums = store.sums(fields)
    numbers: dict = {name: int(sums.get(f"{TALLY}.d{n}.{kind}") or 0) for kind, name in KINDS.items()}
    numbers["new_users"] = store.count([("created_at", ">=", n * 86400.0), ("created_at", "<", (n + 1) * 86400.0)])
    return numbers


def unmatched(store: Backend, first_day: int) -> list[dict]:
    """What the bot did not understand since ``first_day``, and how many people said each: from the
    phrasings each person's document keeps (deleted with the person), never from a roll-up. Cleaned
    again here (tally.phrasing), for phrasings kept before it dropped control characters."""
    said: Counter = Counter()
    for row in store.scan([f"{TALLY}.u"], [(f"{TALLY}.lastmiss", ">=", first_day)]):
        entries = row.get(f"{TALLY}.u") or []
        said.update({tally.phrasing(entry["text"]) for entry in entries if entry.get("day", 0) >= first_day} - {""})
    return [{"text": text, "people": count} for text, count in said.most_common(TOP_UNMATCHED)]


def without_phrasings(doc: dict | None) -> tuple[Change | None, None]:
    """A roll-up written before roll-ups held counts only: its phrasings go (they outlived the people)."""
    if not doc or "unmatched" not in doc:
        return None, None
    return Change({key: value for key, value in doc.items() if key != "unmatched"}), None


def roll_up(store: Backend, now: float) -> int:
    """Keep each finished day that conversations still hold as one small document (``stats:d<day>``), so
    a view of many days reads a document a day instead of summing every conversation. The scheduled job
    runs it every 15 minutes, well inside the KEEP_DAYS the conversations hold. How many were made."""
    made = 0
    for n in range(day(now) - KEEP_DAYS + 1, day(now)):
        key = f"{ROLLUP}d{n}"
        if store.load(key) is not None:
            continue
        made += store.transact(key, partial(keep_once, day_live(store, n) | {"rollup_day": n}))
    return made


def keep_once(numbers: dict, doc: dict | None) -> tuple[Change | None, int]:
    return (None, 0) if doc else (Change(numbers), 1)


def funnel(store: Backend) -> dict[str, int]:
    """How far people got, of everyone the store holds: wrote, picked a skill, did a step, finished one."""
    return {
        "people": store.count([("created_at", ">", 0)]),
        "started_a_skill": store.count([(f"{TALLY}.picked", ">=", 1)]),
        "did_an_assignment": store.count([(f"{TALLY}.done", ">=", 1)]),
        "finished_a_skill": store.count([(f"{TALLY}.finished", ">=", 1)]),
    }
