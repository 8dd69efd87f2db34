"""The delivery record: what the relay keeps in a conversation's document, under ``delivery``.

The event ids already applied (a redelivery is recognised by them), the outbox
of rendered messages not yet sent, the short stand-ins for payloads too long
for a channel, the transcript for channels that show history, and the
person's flood buckets. Also how a document is read into a conversation and
its record, written back, or reduced to a tombstone when the person is
forgotten.

An outbox entry is the rendered messages of one event, in order, and how many of them went out
(``sent``). A delivery that sends them claims the entry (``claim``) until ``lease_until``, both by
the store's clock (``Store.now``), so that no other delivery sends them meanwhile; each message is
recorded as sent as soon as the platform takes it, which renews the lease. A delivery that dies
leaves at most the one message in flight unrecorded; once its lease has run out, the next
delivery of that person takes the entry over from where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from chatbot.core import logs
from chatbot.core.copies import clone, fields_of
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Reply
from chatbot.store.base import FORGOTTEN, Change, Store

RECENT_EVENTS = 100  # event ids kept for deduplication; platforms redeliver within minutes
RECENT_PAYLOAD_KEYS = 200  # short callback keys kept for Telegram (64-byte callback_data)
TRANSCRIPT_LENGTH = 50  # what a channel that shows history (the web page, after a reload) gets back
KEEP_WAITING = 100  # what a learner writes while their topic cannot take it, kept for it (handoff.py) ...
KEEP_WAITING_CHARS = 60_000  # ... within this many characters (a Firestore document holds 1 MiB)
OUTBOX_MAX_AGE = 24 * 3600  # by the store's clock: unsent after a day is stale (Messenger's window is closed)
WAKE_EVENT = "wake:"
ANNOUNCE_EVENT = "announce:"  # event ids of broadcasts: announce:<name>, kept in ``announced`` for good
KEEP_ANNOUNCED = 50  # event ids of what the bot says unprompted: wake:<due time>
PENDING_PATIENCE = 2.0  # seconds a redelivery waits for a twin to finish sending before answering 503


def wait_for_topic(handoff: dict, texts: list[str]) -> None:
    """Keep ``texts`` for the learner's topic until it can take them: the newest, within KEEP_WAITING
    messages and KEEP_WAITING_CHARS characters; how many older ones could not be kept is counted
    (``waiting_lost``), and the topic is told."""
    waiting = [*handoff.get("waiting", []), *texts]
    kept: list[str] = []
    size = 0
    for text in reversed(waiting):
        if len(kept) == KEEP_WAITING or size + len(text) > KEEP_WAITING_CHARS:
            break
        kept.insert(0, text)
        size += len(text)
    if len(kept) < len(waiting):
        handoff["waiting_lost"] = int(handoff.get("waiting_lost", 0)) + len(waiting) - len(kept)
    handoff["waiting"] = kept


@dataclass
class DeliveryRecord:
    """What this module keeps in the conversation's document, under ``delivery``."""

    events: list = field(default_factory=list)
    outbox: dict = field(default_factory=dict)
    next_seq: int = 1
    payload_keys: dict = field(default_factory=dict)
    transcript: list = field(default_factory=list)  # only for channels that keep one: {"from", "text" or "reply"}
    flood: dict = field(default_factory=dict)  # the person's token buckets (flood.py)
    tally: dict = field(default_factory=dict)  # what the owner's stats count (tally.py)
    announced: list = field(default_factory=list)  # broadcasts this person got, so a rerun never repeats one
    handoff: dict = field(default_factory=dict)  # the conversation handed to a person, or last handed (handoff.py)
    turns: list = field(default_factory=list)  # the last few exchanges, kept where a person can take over (handoff.py)
    forgotten_at: float = 0.0  # read from a tombstone; not stored in the record itself

    @classmethod
    def from_doc(cls, doc: dict) -> DeliveryRecord:
        # Documents from before the record had its own field keep these at the top level.
        data = doc.get("delivery") or {k: doc[k] for k in ("events", "outbox", "next_seq", "payload_keys") if k in doc}
        record = cls(**{k: clone(v) for k, v in data.items() if k in cls.__dataclass_fields__})
        for entry in record.outbox.values():
            if isinstance(entry.get("items"), list):  # older documents kept items as lists
                entry["items"] = json.dumps(entry["items"], ensure_ascii=False)
        return record

    def to_dict(self) -> dict:
        return fields_of(self, skip="forgotten_at")

    def seen(self, event_id: str) -> bool:
        return event_id in self.events

    def remember(self, event_id: str) -> None:
        self.events.append(event_id)
        del self.events[:-RECENT_EVENTS]

    def enqueue(self, event_id: str, items: list[dict], now: float, via: str = "") -> None:
        """Keep the rendered messages of one event (as JSON text: one field, whatever their shape) until
        sent; ``now`` is the store's time. ``via``: another channel than the conversation's sends them
        (what a learner writes to a person, to the owner's chat)."""
        if items:
            self.outbox[str(self.next_seq)] = {
                "event": event_id,
                "items": json.dumps(items, ensure_ascii=False),
                "created_at": now,
                "sent": 0,
            } | ({"via": via} if via else {})
        self.next_seq += 1

    def claim(self, token: str, now: float, lease: float) -> list[Taken]:
        """Take the outbox's entries in order, under ``token`` until ``now + lease`` (the store's time),
        up to the first one another delivery holds: what comes after it waits, so that replies never
        overtake each other. Entries already under ``token`` are taken again: a write that landed
        although its answer was lost, retried, must not leave its own replies locked out. An entry a
        day old by the store's clock is dropped, with a line in the log."""
        taken = []
        for seq in sorted(self.outbox, key=int):
            entry = self.outbox[seq]
            created = entry.get("created_at")
            if created is not None and now - float(created) > OUTBOX_MAX_AGE:
                logs.get().warning("unsent for a day, dropped", extra={"event_id": entry.get("event")})
                del self.outbox[seq]
                continue
            if claimed_elsewhere(entry, token, now):
                break
            entry["claim"], entry["lease_until"] = token, now + lease
            items, sent = json.loads(entry["items"]), int(entry.get("sent") or 0)
            taken.append(Taken(seq, entry.get("event", ""), items, sent, entry.get("via", "")))
        return taken

    def unsent(self, event_id: str) -> bool:
        """Whether any reply of ``event_id`` is still to be sent (by anyone)."""
        return any(entry.get("event") == event_id for entry in self.outbox.values())

    def waiting_on_another(self, event_id: str, token: str, now: float) -> bool:
        """Whether replies of ``event_id`` (or an entry before them) are held by another delivery whose
        lease has not run out: a 200 now would vouch for replies this delivery is not sending."""
        for seq in sorted(self.outbox, key=int):
            entry = self.outbox[seq]
            if claimed_elsewhere(entry, token, now):
                return True
            if entry.get("event") == event_id:
                return False
        return False

    def keep_for_topic(self, texts: list[str]) -> None:
        """What the owner's inbox refused for this conversation's topic (the topic deleted, the bot no
        longer in the group): kept for a topic made anew, which the handoff no longer takes as open,
        so the next delivery or the scheduled job makes one and posts them first (handoff.py)."""
        if not self.handoff.get("open"):
            return
        self.handoff["topic_open"] = False
        wait_for_topic(self.handoff, texts)

    def note(self, said_by_person: str, replies: list[Reply]) -> None:
        """Add one exchange to the transcript, keeping the last TRANSCRIPT_LENGTH entries."""
        if said_by_person:
            self.transcript.append({"from": "person", "text": said_by_person})
        self.transcript += [{"from": "bot", "reply": reply.to_dict()} for reply in replies]
        del self.transcript[:-TRANSCRIPT_LENGTH]

    def short_payload(self, payload: str) -> str:
        """A short stand-in for a payload too long for a channel, remembered here."""
        short = "~" + hashlib.sha256(payload.encode()).hexdigest()[:16]
        self.payload_keys.pop(short, None)
        self.payload_keys[short] = payload
        while len(self.payload_keys) > RECENT_PAYLOAD_KEYS:
            self.payload_keys.pop(next(iter(self.payload_keys)))
        return short


def wake_event_id(due_at: float) -> str:
    return f"{WAKE_EVENT}{int(due_at)}"


def is_current_wake(conv: Conversation, event_id: str) -> bool:
    """Whether ``event_id`` is still the conversation's wake (not moved, done or turned off meanwhile)."""
    return bool(conv.wake.get("at")) and wake_event_id(conv.wake["at"]) == event_id


@dataclass
class Taken:
    """An outbox entry a delivery claimed: its messages, and how many of them went out already."""

    seq: str
    event: str
    items: list
    sent: int = 0
    via: str = ""  # the channel that sends them, when not the conversation's own


def claimed_elsewhere(entry: dict, token: str, now: float) -> bool:
    """An outbox entry another delivery claimed and whose lease has not run out (the store's time)."""
    return entry.get("claim") not in (None, token) and float(entry.get("lease_until") or 0) > now


def read(key: str, doc: dict | None) -> tuple[Conversation, DeliveryRecord]:
    if doc is None:
        return Conversation(key=key), DeliveryRecord()
    record = DeliveryRecord.from_doc(doc)
    record.forgotten_at = float(doc.get(FORGOTTEN) or 0)
    return Conversation.from_dict({**doc, "key": key}), record


def document(conv: Conversation, record: DeliveryRecord) -> dict:
    """The stored document; a tombstone stays one (when its replies are settled, say) until the
    person writes again and a new conversation begins."""
    if record.forgotten_at and not conv.created_at:
        return {FORGOTTEN: record.forgotten_at, "delivery": record.to_dict()}
    return conv.to_dict() | {"delivery": record.to_dict(), "learning": learning(conv)}


def learning(conv: Conversation) -> list[str]:
    """The skills the person has started, as a field a query can test with "contains" (the
    announcements' skill:ID audience) without looking into the progress itself."""
    return sorted(skill for skill, entry in conv.progress.items() if (entry or {}).get("started_at", 0) > 0)


def tombstone(record: DeliveryRecord, now: float, confirming: str = "") -> dict:
    """What is kept of a forgotten person, for a couple of days: the event ids (so a redelivery in
    flight is not applied again, recreating them), the flood buckets (forgetting is no way around the
    limit), and when they asked in the chat, the confirmation still to send (the replies of the event
    ``confirming``). Nothing they said, nothing about them."""
    outbox = {seq: entry for seq, entry in record.outbox.items() if confirming and entry.get("event") == confirming}
    kept = DeliveryRecord(events=record.events, outbox=outbox, next_seq=record.next_seq, flood=record.flood)
    kept.transcript = [entry for entry in record.transcript if entry["from"] == "bot"][-2:] if confirming else []
    return {FORGOTTEN: now, "delivery": kept.to_dict()}


def keep_for_later(store: Store, key: str, due_at: float) -> bool:
    """Keep a due wake for when the person next writes (its channel is off here). True if kept."""

    def step(doc: dict | None):
        conv, record = read(key, doc)
        if doc is None or not is_current_wake(conv, wake_event_id(due_at)):
            return None, False
        conv.held, conv.wake = conv.wake["payload"], {}
        return Change(document(conv, record)), True

    return store.transact(key, step)


def advance(store: Store, key: str, due_at: float) -> None:
    """After a wake was delivered: the next one the engine asked for, if the wake is still that one."""

    def step(doc: dict | None):
        conv, record = read(key, doc)
        if doc is None or not is_current_wake(conv, wake_event_id(due_at)):
            return None, None
        after, want = conv.wake.get("next"), conv.wake.get("next_want")
        conv.wake = {"at": after, "payload": conv.wake["payload"], **({"want": want} if want else {})} if after else {}
        return Change(document(conv, record)), None

    store.transact(key, step)
