"""Messages the bot starts: reminders (claim what is due, deliver it once, honour each channel's
rule) and broadcasts (an announcement to an audience, once per person).

The engine asks to speak unprompted by setting a conversation's wake (a time
and a payload); the store mirrors it into an index queried by time. A run
claims each due wake with a lease, asks the channel whether it may write now
(``may_send_unprompted``), and either delivers it through the relay as an
update from the bot (event id ``wake:<due>``, so the delivery record makes it
exactly once) or holds it until the person writes again. Only after it went
out does the wake move on to the next one the engine asked for.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from chatbot.core import channels as registry
from chatbot.core import logs
from chatbot.delivery import record, relay
from chatbot.delivery.channel import Channel
from chatbot.engine.conversation import Conversation
from chatbot.engine.skills import Skills
from chatbot.engine.types import Update
from chatbot.engine.understand import fold
from chatbot.store.base import Backend

LEASE_SECONDS = 120.0  # a claimed wake is this run's; if the run dies, the next one retries after it
SEND_RATE = 20.0  # messages per second for one run (Telegram allows about 30 per second per bot)


@dataclass
class RunReport:
    due: int = 0
    sent: int = 0
    skipped: int = 0  # not sent: held until the person writes, nothing left to say, or they are gone
    failed: int = 0
    left: bool = False  # stopped at the time budget with due wakes still waiting
    seconds: float = 0.0

    def as_json(self) -> dict:
        return {
            "due": self.due,
            "sent": self.sent,
            "skipped": self.skipped,
            "failed": self.failed,
            "more_due": self.left,
            "seconds": round(self.seconds, 3),
        }


class Pacer:
    """At most ``rate`` sends per second for this run."""

    def __init__(self, rate: float, clock: Callable[[], float], sleep: Callable[[float], None]):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self.next_at = 0.0

    def wait(self) -> None:
        now = self.clock()
        if now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


@dataclass
class Run:
    store: Backend
    channels: Callable[[str], Channel | None]
    skills: Skills
    clock: Callable[[], float]
    pacer: Pacer
    report: RunReport
    lease: float = relay.LEASE_SECONDS  # a claim on the replies it sends (relay.deliver)


def run_due(
    store: Backend,
    channels: Callable[[str], Channel | None],
    skills: Skills,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    budget: float = 50.0,
    batch: int = 100,
    rate: float = SEND_RATE,
    lease: float = relay.LEASE_SECONDS,
) -> RunReport:
    """Deliver the due wakes until none are left or the time budget is spent."""
    run = Run(store, channels, skills, clock, Pacer(rate, clock, sleep), RunReport(), lease)
    started = clock()
    while clock() - started < budget:
        due = store.due(clock(), batch)
        if not due:
            break
        random.shuffle(due)  # concurrent runs start at different places instead of racing for the same
        handled = 0
        for key, version in due:
            if clock() - started >= budget:
                break
            token = uuid.uuid4().hex
            due_at = store.claim_due(key, clock(), LEASE_SECONDS, token, version)
            if due_at is None:
                continue  # another run has it, or it is no longer due
            handled += 1
            run.report.due += 1
            deliver_one(run, key, due_at, token)
        if handled == 0:
            break  # everything left is leased by other runs
    else:
        run.report.left = bool(store.due(clock(), 1))
    run.report.seconds = clock() - started
    return run.report


def deliver_one(run: Run, key: str, due_at: float, token: str) -> None:
    channel_name, user_id = key.split(":", 1)
    channel = run.channels(channel_name)
    if channel is None:
        # The channel is off here: keep it for when the person next writes.
        record.keep_for_later(run.store, key, due_at)
        run.report.skipped += 1
        return
    update = Update(channel=channel_name, user_id=user_id, event_id=relay.wake_event_id(due_at), from_bot=True)
    run.pacer.wait()
    try:
        result = relay.deliver(
            update, channel, run.store, run.skills, clock=run.clock, lease=run.lease, channels=run.channels
        )
    except Exception as error:  # the store failed: this wake waits for the next run
        run.report.failed += 1
        logs.get().warning("wake not delivered", extra={"key": key, "error": f"{type(error).__name__}"})
        run.store.release_due(key, token)
        return
    if not result.ok:
        run.report.failed += 1  # a send failed for now; the next run resends what is unsent
        run.store.release_due(key, token)
        return
    if result.sent:
        run.report.sent += 1
    else:
        run.report.skipped += 1  # held for later, nothing left to say, or the person is gone
    if not result.kept_for_later and not result.stale:
        record.advance(run.store, key, due_at)


# ---------------------------------------------------------------- broadcasts

ANNOUNCE_RATE = 25.0  # messages a second for a broadcast run: Telegram allows about 30 a second per bot
AUDIENCES = f"everyone, {', '.join(registry.NAMES)}, skill:ID (learning it) or suggested:WORD (asked to be told)"
SCANNED = ["key", "created_at", "active", "last_message_at", "news", "delivery.announced", "delivery.outbox"]
SCANNED += ["delivery.handoff.open"]  # someone talking with a person gets no announcement meanwhile


@dataclass
class BroadcastReport:
    """Per channel: sent (or would be, in a dry run), and how many were skipped for each reason."""

    sent: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    failed: int = 0  # a send failed for now: running the broadcast again sends what is missing
    pending: int = 0  # another run holds their announcement: sent by it, or by a run after its lease

    def count(self, channel: str, reason: str = "") -> None:
        if reason:
            per_reason = self.skipped.setdefault(channel, {})
            per_reason[reason] = per_reason.get(reason, 0) + 1
        else:
            self.sent[channel] = self.sent.get(channel, 0) + 1

    def as_json(self) -> dict:
        return {"sent": self.sent, "skipped": self.skipped, "failed": self.failed, "pending": self.pending}


def audience(to: str) -> list[tuple[str, str, object]]:
    """Which conversations an audience names (a query on the store), or ValueError saying what it takes."""
    kind, _, value = to.partition(":")
    if to == "everyone":
        return [("created_at", ">", 0)]
    if to in registry.NAMES:
        return [("key", ">=", f"{to}:"), ("key", "<", f"{to};")]
    if kind == "skill" and value.replace("-", "").replace("_", "").isalnum():
        return [("learning", "contains", value)]
    if kind == "suggested" and value:
        return [("news.suggested", "contains", fold(value).strip())]
    raise ValueError(f"unknown audience {to!r}: use {AUDIENCES}")


def screen(channel: Channel) -> Callable[[Conversation, float], str]:
    """Why an announcement may not go to a person of ``channel`` now ("" when it may): each channel's rule."""

    def why_not(conv: Conversation, now: float) -> str:
        if not conv.created_at:
            return "no conversation"
        if not conv.active:
            return "blocked the bot"
        if conv.news.get("off"):
            return "said stop announcements"
        if not channel.may_send_unprompted(conv, now):
            return registry.info(channel.name).not_now
        return ""

    return why_not


def broadcast(
    store: Backend,
    channels: Callable[[str], Channel | None],
    skills: Skills,
    update_for: Callable[[str, str], Update],
    to: str,
    *,
    dry_run: bool = False,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    rate: float = ANNOUNCE_RATE,
    lease: float = relay.LEASE_SECONDS,
) -> BroadcastReport:
    """Send one announcement to an audience, once per person: the event id is kept in each person's
    record with the state it caused, so an overlapping or repeated run skips who got it already and
    sends only what a failed run left unsent. ``update_for(channel, user_id)`` makes the update.
    ``lease``: how long a claim on one person's announcement lasts (a run that died holding it: the
    next run sends it once that has passed); it must outlive the longest send."""
    report, pacer = BroadcastReport(), Pacer(rate, clock, sleep)
    for row in store.scan(SCANNED, audience(to)):
        key = str(row.get("key") or "")
        channel_name, _, user_id = key.partition(":")
        channel = channels(channel_name)
        if channel is None:
            report.count(channel_name or "unknown", "channel off here")
            continue
        update, rule = update_for(channel_name, user_id), screen(channel)
        fields = {k: row[k] for k in ("created_at", "active", "last_message_at", "news") if row.get(k) is not None}
        reason = rule(Conversation.from_dict({"key": key, **fields}), clock())
        if not reason and row.get("delivery.handoff.open"):
            reason = "talking with a person"
        if not reason and update.event_id in (row.get("delivery.announced") or []):
            unsent = any(e.get("event") == update.event_id for e in (row.get("delivery.outbox") or {}).values())
            reason = "" if unsent and not dry_run else "got it already"  # a cut-short run left it unsent: resend
        if reason or dry_run:
            report.count(channel_name, reason)
            continue
        pacer.wait()
        announce_one(store, channel, skills, update, rule, clock, report, lease)
    return report


def announce_one(store, channel, skills, update: Update, rule, clock, report: BroadcastReport, lease: float) -> None:
    try:
        result = relay.deliver(update, channel, store, skills, clock=clock, screen=rule, lease=lease)
    except Exception as error:  # the store failed for this one: a rerun picks it up
        report.failed += 1
        logs.get().warning("announcement not delivered", extra={"key": update.key, "error": type(error).__name__})
        return
    if result.skipped:
        report.count(update.channel, result.skipped)
    elif result.pending:
        report.pending += 1  # another run holds it (sending now, or it died): the next run finishes it
    elif not result.ok:
        report.failed += 1
    elif result.duplicate and not result.sent:
        report.count(update.channel, "got it already")
    elif not result.sent:
        report.count(update.channel, "refused by the platform (blocked the bot)")
    else:
        report.count(update.channel)
