"""The path of one update: apply it once, send its replies once, answer only when they are out.

    one write: seen? -> claim what is unsent | new -> engine -> queue -> claim
    send the claimed messages in order, recording each as sent (sending.py)
    200 only when every reply of the event went out; else 503 and the platform comes back

The conversation's document holds the engine's state and, under ``delivery``, this module's
record (record.py): the event ids already applied, the outbox of rendered messages not yet sent,
the person's flood buckets. A failed send (5xx, timeout, long rate limit) hands the rest back and
asks the platform to retry; the redelivered event is already seen, so only what was not sent goes
out. Claims are judged by the store's clock, never by one instance's own. ``deliver_all`` turns a
request's updates into one ``Outcome``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from chatbot.core import faults, logs
from chatbot.delivery import flood, tally, topics
from chatbot.delivery.channel import Channel
from chatbot.delivery.handoff import Handoff, is_event, is_open
from chatbot.delivery.record import (  # noqa: F401 - read, document and the record are used through relay too
    ANNOUNCE_EVENT,
    KEEP_ANNOUNCED,
    PENDING_PATIENCE,
    DeliveryRecord,
    Taken,
    document,
    is_current_wake,
    read,
    tombstone,
    wake_event_id,
)
from chatbot.delivery.sending import Lookup, Sending
from chatbot.engine import chat
from chatbot.engine.conversation import Conversation
from chatbot.engine.skills import Skills
from chatbot.engine.types import Reply, Update
from chatbot.store.base import FORGOTTEN, Change, Store

# A claim on replies is the claimer's until then, by the store's clock. Each message sent renews it,
# and one send is bounded (outbound.SEND_SECONDS_MAX, a rate limit's wait included), so a live sender
# keeps it; a dead one's replies go out again after it. The settings' claim lease may not be shorter.
LEASE_SECONDS = 30.0
BATCH_BUDGET_SECONDS = 15.0  # one webhook request stops taking on updates after this; the rest are redelivered


def load_conversation(store: Store, key: str) -> Conversation | None:
    doc = store.load(key)
    return read(key, doc)[0] if doc is not None and not doc.get(FORGOTTEN) else None


@dataclass
class Delivery:
    ok: bool = True  # False: something is left unsent; the platform should retry
    duplicate: bool = False
    kept_for_later: bool = False  # an unprompted message the channel did not allow now (said when they write)
    stale: bool = False  # a wake that is no longer the conversation's (changed or done meanwhile)
    flooded: str = ""  # over the flood limit: "warn" (told to slow down) or "drop" (not handled)
    skipped: str = ""  # an announcement not sent, and why
    counted: int = 0  # messages dropped earlier whose count this write carries
    bucket: str = ""  # which flood limit dropped it (the log says)
    erased: bool = False  # the person asked to be forgotten, and is
    lookup: bool = False  # the channel has a profile to ask for (a new person on Messenger)
    pending: bool = False  # replies of this event another delivery holds (sending now, or died holding them)
    topic: bool = False  # a handoff waits for the learner's topic in the owner's inbox (handoff.py)
    unreachable: bool = False  # a person's answer the learner's platform would not take (handoff.py)
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
    queue_only: bool = False,
    guard: flood.Guard | None = None,
    screen: Callable[[Conversation, float], str] | None = None,
    lease: float = LEASE_SECONDS,
    channels: Callable[[str], Channel | None] | None = None,
    handoff: Handoff | None = None,
) -> Delivery:
    """Apply ``update`` and send what is owed to this person; ``ok`` only when every reply of the
    update's event went out. ``queue_only`` queues without sending (a message earlier in this
    request to the same person could not be sent). ``screen`` says why an announcement may not go
    to this person now ("" when it may), read in the same write. ``channels`` finds the channel of
    queued messages another channel sends (``via``). ``handoff``: who can take a conversation over
    (handoff.py): a conversation handed to a person is routed there instead of the engine."""
    guard = guard or flood.Guard()
    write = EventWrite(update, channel, store, skills, clock, queue_only, guard, screen, lease, handoff)
    faults.point("before-write")
    taken = store.transact(update.key, write, token=write.token, fresh=update.opens)
    faults.point("after-write")
    result = write.result
    topic_ok = True
    if result.topic and handoff is not None and not queue_only:  # the learner's topic, and its first message
        more, topic_ok = topics.open_topic(handoff, store, update.key, write.token, lease, channel)
        taken = [*taken, *more]
    after_write(update, result, guard, len(taken))
    lookup = Lookup(channel, update.user_id) if result.lookup and not result.erased else None
    unprompted = update.from_bot and not is_event(update)
    sending = Sending(
        update.key,
        write.token,
        channel,
        store,
        lease=lease,
        clock=clock,
        unprompted=unprompted,
        lookup=lookup,
        channels=channels,
    )
    ok = sending.run(taken) if taken or lookup is not None else True
    if sending.gone and handoff is not None and is_event(update):  # a person's answer found them gone: say so
        ok = topics.tell_gone(handoff, store, update, channel, write.token, lease, channels) and ok
    ok = ok and topic_ok
    if ok and not queue_only and not write.claimed_all:
        # Replies of this event wait behind another delivery's claim: a twin sending them now, or one
        # that died holding them. A 200 would vouch for replies nobody may be sending: wait a little
        # for them to go out (or be handed back, and then send them here), else answer 503.
        ok = finish(update, sending, store, lease)
        result.pending = not ok and not sending.failed
    result.ok = ok and not queue_only
    result.sent, result.items = len(sending.items), sending.items
    return result


@dataclass
class EventWrite:
    """The store step of one delivery: the update applied once (or, seen before, what it left unsent
    claimed), its replies queued and claimed for this delivery (``token``). A store may run it more
    than once; ``result`` and ``claimed_all`` say what its last run found."""

    update: Update
    channel: Channel
    store: Store
    skills: Skills
    clock: Callable[[], float]
    queue_only: bool
    guard: flood.Guard
    screen: Any
    lease: float
    handoff: Handoff | None
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    result: Delivery = field(default_factory=Delivery)
    claimed_all: bool = False  # every entry of this event was among what the write claimed

    def __call__(self, doc: dict | None):
        update, result = self.update, Delivery()
        self.result, self.claimed_all = result, False  # what this run found, afresh
        now, store_now = self.clock(), self.store.now()
        conv, record = read(update.key, doc)
        if record.seen(update.event_id) or update.from_bot and update.event_id in record.announced:
            result.duplicate = True  # a redelivery, or an announcement a rerun or another run already made
            taken = self.claim(record, store_now)
            return (Change(document(conv, record)) if taken else None), taken
        if update.from_bot and not is_event(update) and not may_go(update, conv, self.screen, now, result):
            return None, []
        verdict = flood.OK if update.from_bot else over_limit(update, record, self.guard, now, result)
        if verdict == flood.DROP:
            return None, []  # acknowledged and counted in memory; nothing written
        filed: list = []
        if verdict == flood.WARN:
            slow_down(update, conv, record, self.channel, self.skills, now, store_now, result)
        else:
            result.lookup = not update.first_name and not update.from_bot and self.channel.needs_profile(conv)
            record.remember(update.event_id)
            conv, filed = apply(update, conv, record, self.channel, self.skills, now, store_now, result, self.handoff)
        taken = self.claim(record, store_now)
        if result.erased:
            return Change(tombstone(record, store_now, confirming=update.event_id), erase=True), taken
        return Change(document(conv, record), filed), taken

    def claim(self, record: DeliveryRecord, store_now: float) -> list[Taken]:
        """What this delivery sends (nothing when it only queues), and whether a topic is owed."""
        self.result.topic = self.handoff is not None and topics.needs_topic(record)
        taken = [] if self.queue_only else record.claim(self.token, store_now, self.lease)
        self.claimed_all = all_of(self.update.event_id, record, taken)
        return taken


def after_write(update: Update, result: Delivery, guard: flood.Guard, resending: int) -> None:
    """What the write found, counted and logged once it is done (a step may run more than once)."""
    if result.counted:
        guard.written(update.key, result.counted)
    if result.flooded == flood.DROP and guard.drop(update.key) == 1:
        logs.get().info("flood: dropping messages", extra={"key": update.key, "bucket": result.bucket})
    if result.duplicate:
        logs.get().info("redelivered event", extra={"event_id": update.event_id, "resending": resending})


def all_of(event_id: str, record: DeliveryRecord, taken: list[Taken]) -> bool:
    """Whether every outbox entry of ``event_id`` is among ``taken`` (none left: trivially)."""
    mine = {entry.seq for entry in taken}
    return all(seq in mine for seq, entry in record.outbox.items() if entry.get("event") == event_id)


def finish(update: Update, sending: Sending, store: Store, lease: float, patience: float = PENDING_PATIENCE) -> bool:
    """Wait up to ``patience`` for every reply of ``update``'s event to go out: sent by the delivery
    that holds them, or handed back (or its lease run out) and then sent here. True once none is left."""
    give_up = time.monotonic() + patience

    def step(doc: dict | None):
        conv, record = read(update.key, doc)
        taken = record.claim(sending.claim_id, store.now(), lease)
        return (Change(document(conv, record)) if taken else None), (taken, record.unsent(update.event_id))

    while True:
        taken, unsent = store.transact(update.key, step, token=sending.claim_id)
        if taken and not sending.run(taken):
            return False
        if not unsent:
            return True
        if time.monotonic() >= give_up:
            return False
        if not taken:
            time.sleep(0.2)


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
        result.bucket = bucket  # counted once the write is done (``deliver``): a step may run twice
        return verdict
    result.counted = guard.pending(update.key)
    if result.counted:
        record.flood["dropped"] = record.flood.get("dropped", 0) + result.counted
    if verdict == flood.WARN:
        logs.get().warning("flood limit reached", extra={"key": update.key, "bucket": bucket})
    return verdict


def slow_down(update: Update, conv, record: DeliveryRecord, channel, skills: Skills, now, store_now, result) -> None:
    """Record the event and ask the person to slow down (once per flood: the rest are dropped)."""
    record.remember(update.event_id)
    locale = skills.pick_locale(conv.profile.get("language") or conv.profile.get("locale"))
    key = "slow_down_day" if record.flood.get("over") == "day" else "slow_down"
    result.replies = [Reply(text=skills.text(key, locale))]
    if channel.keeps_transcript:
        record.note(update.text or update.label, result.replies)
    record.enqueue(update.event_id, channel.render(result.replies, conv, update, record.short_payload), store_now)


def apply(
    update, conv, record, channel, skills, now, store_now, result: Delivery, handoff: Handoff | None = None
) -> tuple[Conversation, list]:
    """Run the engine on a new event and queue what it says; the conversation after it, and the
    records it filed. The engine works on a copy: if it fails, the conversation is as it was. What a
    handoff has (the owner's side, a learner writing to a person) goes there instead (handoff.py)."""
    routed = handoff.apply(update, conv, record, channel, skills, now, store_now) if handoff else None
    if routed is not None:
        result.replies, result.unreachable = routed.replies, routed.unreachable
        return routed.conv, []
    announcing = update.from_bot and update.event_id.startswith(ANNOUNCE_EVENT)  # a person cannot name one
    if update.from_bot and not announcing:
        wake = conv.wake
        if not channel.may_send_unprompted(conv, now) or is_open(record):  # away, or with a person now
            conv.held, conv.wake, result.kept_for_later = wake["payload"], {}, True
            tally.add(record.tally, tally.REMINDERS_HELD, now)
            return conv, []
        update = replace(update, payload=wake["payload"])
    elif update.payload in record.payload_keys:
        update = replace(update, payload=record.payload_keys[update.payload])
    before = conv.to_dict()
    working = Conversation.from_dict(before)
    try:
        people = handoff.people(channel.name, record, now) if handoff else None
        turn = chat.handle(update, working, skills, now, window=channel.unprompted_window, people=people)
        conv = working
    except Exception as error:
        # A bug of ours on one event: apologise, record the event as handled, keep the trace.
        intent = getattr(error, "intent", "")
        logs.get().exception("engine failed", extra={"event_id": update.event_id, "intent": intent})
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
    record.enqueue(update.event_id, channel.render(turn.replies, conv, update, record.short_payload), store_now)
    if handoff is not None:
        handoff.after_turn(turn, update, conv, record, channel, now, store_now)
    return conv, turn.filed


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
    timer: Callable[[], float] = time.monotonic,
    budget: float = BATCH_BUDGET_SECONDS,
    guard: flood.Guard | None = None,
    lease: float = LEASE_SECONDS,
    channels: Callable[[str], Channel | None] | None = None,
    handoff: Handoff | None = None,
) -> Outcome:
    """Run each update through ``deliver``. Anything the store raises means nothing more is
    recorded: stop and ask for a retry. A person whose reply could not be sent has their next
    updates queued, not sent, so their replies never overtake each other. An update of another
    channel than the request's (an owner's answer, routed to a learner: handoff.py) goes through its own."""
    outcome = Outcome()
    failed_users: set[str] = set()
    started = timer()  # the request's own time, not the store's (which may cost a read to learn)
    for done, update in enumerate(updates):
        if timer() - started > budget:
            logs.get().warning("batch budget used up", extra={"done": done, "left": len(updates) - done})
            outcome.recorded, outcome.reason = False, "time budget"
            break
        target = channel if update.channel == channel.name else (channels(update.channel) if channels else None)
        if target is None:
            logs.get().warning("an update for a channel that is off here, not delivered", extra={"key": update.key})
            continue
        try:
            queue_only = update.key in failed_users
            result = deliver(
                update,
                target,
                store,
                skills,
                queue_only=queue_only,
                clock=clock,
                guard=guard,
                lease=lease,
                channels=channels,
                handoff=handoff,
            )
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
