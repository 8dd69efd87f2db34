"""Reminders: when the next one is due, and the run that sends the due ones exactly once.

A reminder is scheduled in the conversation (``conversation.reminder``) and
mirrored by the store into a reminders table or collection that can be queried
by due time. A run claims each due reminder with a lease, delivers it through
the relay as an update from the bot (event id ``reminder:<due>``, so the
conversation's dedup and outbox make it exactly once), and reschedules it only
after it went out.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import logs
import relay
from chat import Update

LEASE_SECONDS = 120.0  # a claimed reminder is this run's; if the run dies, the next one retries after it
LOCAL_HOUR = 18  # a sensible hour to be reminded when the user's time zone is known
MIN_DAYS, MAX_DAYS = 1, 7


def cadence_days(hours_per_week: float, next_minutes: float) -> int:
    """Days until the next assignment is due at this pace: its length over the daily time."""
    per_day = max(hours_per_week, 0.5) * 60 / 7
    return max(MIN_DAYS, min(MAX_DAYS, math.ceil(next_minutes / per_day)))


def next_due(now: float, days: float, tz_offset_hours: float | None, last_active_at: float) -> float:
    """``days`` from now, moved to LOCAL_HOUR in the user's time zone when known, otherwise to the
    hour of day they were last active (they were awake and reading then)."""
    target = now + days * 86400
    if tz_offset_hours is not None:
        local = target + tz_offset_hours * 3600
        start_of_day = local - local % 86400
        return start_of_day + LOCAL_HOUR * 3600 - tz_offset_hours * 3600
    if last_active_at:
        seconds_into_day = last_active_at % 86400
        return target - target % 86400 + seconds_into_day
    return target


@dataclass
class RunReport:
    due: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    left: bool = False  # stopped at the time budget with due reminders still waiting
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
    """At most ``rate`` sends per second for this run (Telegram allows about 30 per second per bot)."""

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


def run_due(
    store,
    channels: dict,
    skills,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    budget: float = 50.0,
    batch: int = 100,
    rate: float = 20.0,
) -> RunReport:
    """Send the due reminders until none are left or the time budget is spent."""
    report = RunReport()
    started = clock()
    pacer = Pacer(rate, clock, sleep)
    while True:
        if clock() - started >= budget:
            report.left = bool(store.due_reminders(clock(), 1))
            break
        due = store.due_reminders(clock(), batch)
        if not due:
            break
        random.shuffle(due)  # concurrent runs start at different places instead of racing for the same
        handled = 0
        for key, version in due:
            if clock() - started >= budget:
                break
            token = uuid.uuid4().hex
            due_at = store.claim_reminder(key, clock(), LEASE_SECONDS, token, version)
            if due_at is None:
                continue  # another run has it, or it is no longer due
            handled += 1
            report.due += 1
            send_one(key, due_at, token, store, channels, skills, clock, pacer, report)
        if handled == 0:
            break  # everything left is leased by other runs
    report.seconds = clock() - started
    return report


def send_one(key, due_at, token, store, channels, skills, clock, pacer, report: RunReport) -> None:
    channel_name, user_id = key.split(":", 1)
    channel = channels.get(channel_name)
    if channel is None:
        # The channel is off (or it is the web chat): keep it for when the user comes back.
        store.transact(key, lambda conv: (mark_pending(conv), None))
        report.skipped += 1
        return
    update = Update(
        channel=channel_name, user_id=user_id, event_id=f"reminder:{int(due_at)}", payload="REMINDER", from_bot=True
    )
    pacer.wait()
    try:
        delivery = relay.deliver(update, channel, store, skills, clock=clock)
    except Exception as error:  # a store outage or a bug: this reminder waits for the lease
        report.failed += 1
        logs.get().warning("reminder not delivered", extra={"key": key, "error": str(error)[:200]})
        store.release_reminder(key, token)
        return
    if not delivery.ok:
        report.failed += 1  # a send failed for now; the next run resends what is unsent
        store.release_reminder(key, token)
        return
    if delivery.sent:
        report.sent += 1
    else:
        report.skipped += 1
    store.transact(key, lambda conv: (reschedule_after_send(conv, clock()), None))


def mark_pending(conv) -> bool:
    if not conv.reminder.get("enabled"):
        return False
    conv.reminder["pending"] = True
    return True


def reschedule_after_send(conv, now: float) -> bool:
    """After a reminder went out (or was set aside): the next one, or none if they are off."""
    reminder = conv.reminder
    if not reminder.get("enabled") or reminder.get("pending") or not conv.active:
        return True  # the mirror drops it from the due list
    tz = conv.profile.get("timezone")
    reminder["due_at"] = next_due(now, reminder.get("every_days", 2), tz, conv.last_message_at)
    reminder["last_sent_at"] = now
    return True
