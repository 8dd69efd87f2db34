"""The delivery record: what the relay keeps in a conversation's document, under ``delivery``.

The event ids already applied (a redelivery is recognised by them), the outbox
of rendered messages not yet sent, the short stand-ins for payloads too long
for a channel, the transcript for channels that show history, and the
person's flood buckets. Also how a document is read into a conversation and
its record, written back, or reduced to a tombstone when the person is
forgotten.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

from chatbot.core.copies import clone, fields_of
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Reply
from chatbot.store.base import FORGOTTEN, Change, Store

RECENT_EVENTS = 100  # event ids kept for deduplication; platforms redeliver within minutes
RECENT_PAYLOAD_KEYS = 200  # short callback keys kept for Telegram (64-byte callback_data)
TRANSCRIPT_LENGTH = 50  # what a channel that shows history (the web page, after a reload) gets back
OUTBOX_MAX_AGE = 24 * 3600  # a reply still unsent after a day is stale; Messenger's window is closed too
WAKE_EVENT = "wake:"
ANNOUNCE_EVENT = "announce:"  # event ids of broadcasts: announce:<name>, kept in ``announced`` for good
KEEP_ANNOUNCED = 50  # event ids of what the bot says unprompted: wake:<due time>
PENDING_PATIENCE = 2.0  # seconds a redelivery waits for a twin to finish sending before answering 503


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

    def enqueue(self, event_id: str, items: list[dict], now: float) -> None:
        """Keep the rendered messages of one event (as JSON text: one field, whatever their shape) until sent."""
        if items:
            self.outbox[str(self.next_seq)] = {
                "event": event_id,
                "items": json.dumps(items, ensure_ascii=False),
                "created_at": now,
            }
        self.next_seq += 1

    def claim(self, token: str, now: float, lease: float) -> list[tuple[str, list]]:
        """Take every outbox entry nobody else is sending right now, oldest first. Entries
        already under ``token`` are taken again: a write that landed although its answer was
        lost, retried, must not leave its own replies locked out."""
        taken = []
        for seq in sorted(self.outbox, key=int):
            entry = self.outbox[seq]
            if now - entry.get("created_at", now) > OUTBOX_MAX_AGE:
                del self.outbox[seq]
                continue
            if held_elsewhere(entry, token, now):
                continue
            entry["claim"], entry["lease_until"] = token, now + lease
            taken.append((seq, json.loads(entry["items"])))
        return taken

    def sending_elsewhere(self, event_id: str, token: str, now: float) -> bool:
        """Whether another delivery holds replies of ``event_id`` under a live lease: a twin sending them
        now, or one that gave up waiting for its write, which landed after all. Either way, a 200 now
        would vouch for replies nobody may be sending; the platform's retry finds them sent or free."""
        return any(
            entry.get("event") == event_id and held_elsewhere(entry, token, now) for entry in self.outbox.values()
        )

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


def held_elsewhere(entry: dict, token: str, now: float) -> bool:
    """An outbox entry another delivery claimed and whose lease has not run out."""
    return entry.get("claim") not in (None, token) and entry.get("lease_until", 0) > now


def let_go_within(store: Store, key: str, event_id: str, token: str, clock, patience: float = PENDING_PATIENCE) -> bool:
    """Whether the delivery holding ``event_id``'s replies lets go of them within ``patience`` seconds:
    sends them, or hands them back after a failed send (its own 503 brings the platform back). A twin
    sending them right now mostly finishes in well under a second; one that gave up never does."""
    give_up = time.monotonic() + patience
    while time.monotonic() < give_up:
        time.sleep(0.2)
        if not read(key, store.load(key))[1].sending_elsewhere(event_id, token, clock()):
            return True
    return False


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


def tombstone(record: DeliveryRecord, now: float) -> dict:
    """What is kept of a forgotten person: the event ids (so a redelivery is not applied again) and
    the replies still to send (the confirmation), and the flood buckets (forgetting is no way around
    the limit). Nothing they said, nothing about them."""
    kept = DeliveryRecord(events=record.events, outbox=record.outbox, next_seq=record.next_seq, flood=record.flood)
    kept.transcript = [entry for entry in record.transcript if entry["from"] == "bot"][-2:]
    return {FORGOTTEN: now, "delivery": kept.to_dict()}


def hold(store: Store, key: str, due_at: float) -> bool:
    """Keep a due wake for when the person next writes (its channel is off here). True if held."""

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
