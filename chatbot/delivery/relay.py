"""The path of one update: apply it once, send its replies once, settle.

    one write: seen? -> claim what is unsent | new -> engine -> queue -> claim
    send the claimed messages in order -> settle (drop what went out, keep the rest)

The conversation's document holds the engine's state and, under ``delivery``, this module's record (record.py):
the event ids already applied, the outbox of rendered messages not yet sent, the person's flood buckets. A failed
send (5xx, timeout, long rate limit) leaves the rest in the outbox and asks the platform to retry; the redelivered
event is already seen, so only what was not sent goes out. ``deliver_all`` turns updates into one ``Outcome``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from chatbot.core import logs
from chatbot.core.outbound import SendFailed
from chatbot.delivery import flood, tally
from chatbot.delivery.channel import Channel
from chatbot.delivery.record import (  # noqa: F401 - read, document and the record are used through relay too
    ANNOUNCE_EVENT,
    KEEP_ANNOUNCED,
    DeliveryRecord,
    document,
    is_current_wake,
    let_go_within,
    read,
    tombstone,
    wake_event_id,
)
from chatbot.engine import chat
from chatbot.engine.conversation import Conversation
from chatbot.engine.skills import Skills
from chatbot.engine.types import Reply, Update
from chatbot.store.base import DELETE, FORGOTTEN, Change, Store

LEASE_SECONDS = 60.0  # a claimed outbox entry is someone else's until then (a crashed sender's, at worst)
SEND_BUDGET_SECONDS = 15.0  # stop sending and answer 503 before Messenger's 20-second window closes
BATCH_BUDGET_SECONDS = 15.0  # one webhook request stops taking on updates after this; the rest are redelivered


def load_conversation(store: Store, key: str) -> Conversation | None:
    doc = store.load(key)
    return read(key, doc)[0] if doc is not None and not doc.get(FORGOTTEN) else None


class Lookup:
    """The person's profile, asked in a thread of its own once the first reply is out (not to compete with
    it): the greeting says "there" instead of a name; what it finds is stored with the write after the sends."""

    def __init__(self, channel: Channel, user_id: str) -> None:
        self.profile: dict = {"looked_up": True}  # a lookup that fails is not repeated on every message
        self.thread = threading.Thread(target=self._run, args=(channel, user_id), name="profile", daemon=True)

    def start(self) -> None:
        if self.thread.ident is None:
            self.thread.start()

    def _run(self, channel: Channel, user_id: str) -> None:
        try:
            self.profile = {**channel.fetch_profile(user_id), "looked_up": True}
        except Exception:
            logs.get().exception("profile lookup crashed")

    def result(self) -> dict:
        self.start()
        self.thread.join()  # fetch_profile bounds each of its calls
        return self.profile


@dataclass
class Delivery:
    ok: bool = True  # False: something is left unsent; the platform should retry
    duplicate: bool = False
    held: bool = False  # an unprompted message the channel did not allow now; kept for later
    stale: bool = False  # a wake that is no longer the conversation's (changed or done meanwhile)
    flooded: str = ""  # over the flood limit: "warn" (told to slow down) or "drop" (not handled)
    skipped: str = ""  # an announcement not sent, and why
    counted: int = 0  # messages dropped earlier whose count this write carries
    erased: bool = False  # the person asked to be forgotten, and is
    lookup: bool = False  # the channel has a profile to ask for (a new person on Messenger)
    pending: bool = False  # a redelivery whose replies another delivery holds (sending, or gave up unknowing)
    replies: list[Reply] = field(default_factory=list)
    sent: int = 0
    items: list[dict] = field(default_factory=list)  # what went out in this call, in order


def deliver(
    update: Update,
    channel: Channel,
    store: Store,
    skills: Skills,
    *,
    clock: Callable[[], float] = time.time,
    hold: bool = False,
    guard: flood.Guard | None = None,
    screen: Callable[[Conversation, float], str] | None = None,
) -> Delivery:
    """Apply ``update`` and send what is owed to this person. ``hold`` queues without sending
    (a message earlier in this request to the same person could not be sent). ``screen`` says why an
    announcement may not go to this person now ("" when it may), read in the same transaction."""
    claim = uuid.uuid4().hex
    result = Delivery()
    guard = guard or flood.Guard()

    def step(doc: dict | None):
        now = clock()
        conv, record = read(update.key, doc)
        if record.seen(update.event_id) or update.from_bot and update.event_id in record.announced:
            result.duplicate = True  # a redelivery, or an announcement a rerun or another run already made
            taken = [] if hold else record.claim(claim, now, LEASE_SECONDS)
            result.pending = not update.from_bot and record.sending_elsewhere(update.event_id, claim, now)
            return (Change(document(conv, record)) if taken else None), taken
        if update.from_bot and not may_go(update, conv, screen, now, result):
            return None, []
        verdict = flood.OK if update.from_bot else over_limit(update, record, guard, now, result)
        if verdict == flood.DROP:
            return None, []  # acknowledged and counted in memory; nothing written
        if verdict == flood.WARN:
            slow_down(update, conv, record, channel, skills, now, result)
            taken = [] if hold else record.claim(claim, now, LEASE_SECONDS)
            return Change(document(conv, record)), taken
        result.lookup = not update.first_name and not update.from_bot and channel.needs_profile(conv)
        record.remember(update.event_id)
        filed = apply(update, conv, record, channel, skills, now, result)
        taken = [] if hold else record.claim(claim, now, LEASE_SECONDS)
        if result.erased:
            return Change(tombstone(record, now), erase=True), taken
        return Change(document(conv, record), filed), taken

    taken = store.transact(update.key, step, token=claim, fresh=update.opens)
    lookup = Lookup(channel, update.user_id) if result.lookup and not result.erased else None
    if result.counted:
        guard.written(update.key, result.counted)
    if result.duplicate:
        logs.get().info("redelivered event", extra={"event_id": update.event_id, "resending": len(taken)})
    result.pending = result.pending and not let_go_within(store, update.key, update.event_id, claim, clock)
    result.ok = result.ok and not (hold or result.pending)  # else a 503: delivered again, the replies sent once
    if taken:
        result.ok = (
            send_claimed(update.key, claim, taken, channel, store, clock, result, update.from_bot, lookup) and result.ok
        )
    if lookup is not None and (hold or not taken):
        settle(store, update.key, claim, {}, False, now=clock(), profile=lookup.result())
    return result


def may_go(update: Update, conv: Conversation, screen, now: float, result: Delivery) -> bool:
    """Whether the bot may speak first now: an announcement the screen lets through, or the current wake
    (not moved, done, turned off or forgotten meanwhile). Otherwise nothing is said or written."""
    if update.event_id.startswith(ANNOUNCE_EVENT):
        result.skipped = screen(conv, now) if screen else ""
        return not result.skipped
    result.stale = not is_current_wake(conv, update.event_id)
    return not result.stale


def over_limit(update: Update, record: DeliveryRecord, guard: flood.Guard, now: float, result: Delivery) -> str:
    """Spend the person's flood tokens: OK to handle the message, WARN to ask them to slow down, DROP
    to not handle it (counted in memory; the count is written with their next accepted message)."""
    verdict, bucket = flood.take(record.flood, guard.limit, now)
    result.flooded = "" if verdict == flood.OK else verdict
    if verdict == flood.DROP:
        if guard.drop(update.key) == 1:
            logs.get().info("flood: dropping messages", extra={"key": update.key, "bucket": bucket})
        return verdict
    result.counted = guard.pending(update.key)
    if result.counted:
        record.flood["dropped"] = record.flood.get("dropped", 0) + result.counted
    if verdict == flood.WARN:
        logs.get().warning("flood limit reached", extra={"key": update.key, "bucket": bucket})
    return verdict


def slow_down(update: Update, conv, record: DeliveryRecord, channel, skills: Skills, now: float, result) -> None:
    """Record the event and ask the person to slow down (once per flood: the rest are dropped)."""
    record.remember(update.event_id)
    locale = skills.pick_locale(conv.profile.get("language") or conv.profile.get("locale"))
    key = "slow_down_day" if record.flood.get("over") == "day" else "slow_down"
    result.replies = [Reply(text=skills.text(key, locale))]
    if channel.keeps_transcript:
        record.note(update.text or update.label, result.replies)
    record.enqueue(update.event_id, channel.render(result.replies, conv, update, record.short_payload), now)


def apply(update, conv, record, channel, skills, now, result: Delivery) -> list:
    """Run the engine on a new event and queue what it says; returns the records it filed."""
    announcing = update.from_bot and update.event_id.startswith(ANNOUNCE_EVENT)  # a person cannot name one
    if update.from_bot and not announcing:
        wake = conv.wake
        if not channel.may_send_unprompted(conv, now):
            conv.held, conv.wake, result.held = wake["payload"], {}, True
            tally.add(record.tally, tally.REMINDERS_HELD, now)
            return []
        update = replace(update, payload=wake["payload"])
    elif update.payload in record.payload_keys:
        update = replace(update, payload=record.payload_keys[update.payload])
    before = conv.to_dict()
    try:
        turn = chat.handle(update, conv, skills, now, window=channel.unprompted_window)
    except Exception as error:
        # A bug of ours on one event: apologise, record the event as handled, keep the trace.
        intent = getattr(error, "intent", "")
        logs.get().exception("engine failed", extra={"event_id": update.event_id, "intent": intent})
        conv.__dict__.update(Conversation.from_dict(before).__dict__)
        chat.take_profile(update, conv)
        turn = chat.Turn(replies=[] if update.from_bot else [chat.apology(skills, conv, update)], filed=[])
    result.replies, result.erased = turn.replies, turn.erase
    if announcing:
        record.announced = [*record.announced, update.event_id][-KEEP_ANNOUNCED:]
        tally.add(record.tally, tally.ANNOUNCEMENTS_SENT, now, 1 if turn.replies else 0)
    elif update.from_bot:
        tally.add(record.tally, tally.REMINDERS_SENT, now, 1 if turn.replies else 0)
    else:
        missed = turn.intent == skills.data["bot"]["fallback"] and bool(update.text)
        tally.turn(record.tally, before["progress"], conv.progress, update.text if missed else None, now)
    if channel.keeps_transcript:
        record.note(update.text or update.label, turn.replies)
    record.enqueue(update.event_id, channel.render(turn.replies, conv, update, record.short_payload), now)
    return turn.filed


def send_claimed(
    key: str,
    claim: str,
    taken: list,
    channel: Channel,
    store: Store,
    clock,
    result: Delivery,
    unprompted: bool = False,
    lookup: Lookup | None = None,
) -> bool:
    """Send the claimed outbox entries in order; record what is left. True if all went out. ``unprompted``:
    the bot wrote first (a reminder), so a refusal is counted as a refused reminder. ``lookup``: a
    profile on its way, stored with what is left."""
    started = clock()
    remaining: dict[str, list] = {}
    deactivate = stopped = False
    for seq, items in taken:
        left: list = items if stopped else []
        for index, item in enumerate([] if stopped else items):
            if clock() - started > SEND_BUDGET_SECONDS:
                stopped, left = True, items[index:]
                logs.get().warning("send budget used up, leaving the rest for the retry", extra={"key": key})
                break
            try:
                channel.send(item)
                result.sent += 1
                result.items.append(item)
            except SendFailed as failure:
                if failure.transient:
                    stopped, left = True, items[index:]
                    logs.get().warning("send failed, will retry", extra={"key": key, "reason": str(failure)})
                    break
                deactivate = deactivate or failure.user_gone
                # A permanent refusal will not change on retry: log it and move on.
                logs.get().error("send refused, dropped", extra={"key": key, "reason": str(failure)})
            except Exception:
                # A bug rendering or sending one message: retrying would repeat it. Dropped, logged.
                logs.get().exception("send crashed, dropped", extra={"key": key})
            if lookup is not None:
                lookup.start()  # the first reply is out
        remaining[seq] = left
    profile = lookup.result() if lookup else None
    settle(store, key, claim, remaining, deactivate, refused=deactivate and unprompted, now=clock(), profile=profile)
    return not stopped


def settle(
    store: Store,
    key: str,
    claim: str,
    remaining: dict[str, list],
    deactivate: bool,
    refused: bool = False,
    now=0.0,
    profile: dict | None = None,
) -> None:
    """After sending: drop the entries this claim finished, keep what is left unsent (released),
    and keep the profile looked up meanwhile."""

    def step(doc: dict | None):
        conv, record = read(key, doc)
        changed = False
        if profile and doc is not None and not doc.get(FORGOTTEN) and not conv.profile.get("looked_up"):
            conv.profile.update(profile)
            changed = True
        for seq, items in remaining.items():
            entry = record.outbox.get(seq)
            if entry is None or entry.get("claim") != claim:
                continue
            changed = True
            if items:
                entry.update(items=json.dumps(items, ensure_ascii=False), claim=None, lease_until=0)
            else:
                del record.outbox[seq]
        if deactivate and conv.active:
            conv.active, changed = False, True
            if refused:
                tally.add(record.tally, tally.REMINDERS_REFUSED, now)
        return (Change(document(conv, record)) if changed else None), None

    if deactivate:
        # The person is gone: the wake index must drop them too, which a full step keeps in line.
        store.transact(key, step)
        return
    fields: dict[tuple[str, ...], Any] = {("profile", name): value for name, value in (profile or {}).items()}
    for seq, items in remaining.items():
        path = ("delivery", "outbox", seq)
        if items:
            fields[(*path, "items")] = json.dumps(items, ensure_ascii=False)
            fields[(*path, "claim")], fields[(*path, "lease_until")] = None, 0
        else:
            fields[path] = DELETE
    if fields:
        store.patch(key, claim, fields, step)


@dataclass
class Outcome:
    """What happened to a batch of updates: all recorded (and sent), or retry later."""

    recorded: bool = True  # every update's event is stored with what it caused
    sent_all: bool = True  # and every reply went out
    reason: str = ""
    items: list[dict] = field(default_factory=list)

    @property
    def retry(self) -> bool:
        return not (self.recorded and self.sent_all)


def deliver_all(
    updates: list[Update],
    channel: Channel,
    store: Store,
    skills: Skills,
    *,
    clock: Callable[[], float] = time.time,
    budget: float = BATCH_BUDGET_SECONDS,
    guard: flood.Guard | None = None,
) -> Outcome:
    """Run each update through ``deliver``. Anything the store raises means nothing more is
    recorded: stop and ask for a retry. A person whose reply could not be sent has their next
    updates queued, not sent, so their replies never overtake each other."""
    outcome = Outcome()
    failed_users: set[str] = set()
    started = clock()
    for done, update in enumerate(updates):
        if clock() - started > budget:
            logs.get().warning("batch budget used up", extra={"done": done, "left": len(updates) - done})
            outcome.recorded, outcome.reason = False, "time budget"
            break
        try:
            result = deliver(update, channel, store, skills, hold=update.key in failed_users, clock=clock, guard=guard)
        except Exception as error:
            # Unreached, unauthenticated, refused or broken: whatever the class, nothing was recorded.
            logs.get().error(
                "store failed, asking for a retry",
                extra={"event_id": update.event_id, "error": f"{type(error).__name__}: {str(error)[:300]}"},
            )
            outcome.recorded, outcome.reason = False, "store unavailable"
            break
        outcome.items += result.items
        if not result.ok:
            failed_users.add(update.key)
            waiting = result.pending and outcome.reason != "send failed"  # a failed send outranks a wait
            outcome.sent_all, outcome.reason = False, "replies pending" if waiting else "send failed"
    return outcome
