"""Sending what one delivery claimed: in order, each message recorded as sent as soon as the
platform took it.

Neither Messenger nor Telegram takes an idempotency key, so a message the platform took and whose
sending was not recorded yet (the process died in between) goes out again when the next delivery
takes the entry over: that one message in flight is the floor, and the most a crash can double.
Each record is one conditional write on what this delivery wrote last (no read), and renews the
claim's lease, so a slow but live sender keeps what it is sending.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, cast

from chatbot.core import deadline, faults, logs
from chatbot.core.outbound import SendFailed
from chatbot.delivery import tally
from chatbot.delivery.channel import Channel, Forums
from chatbot.delivery.record import Taken, document, read
from chatbot.store.base import DELETE, FORGOTTEN, Change, Store, StoreUnavailable

SEND_BUDGET_SECONDS = 15.0  # stop sending and answer 503 before Messenger's 20-second window closes
# A send is started only with this much of the request left (its read is cut to fit, core/deadline.py):
# a send that cannot finish in time would leave the platform's retry waiting on our claim.
SEND_ROOM_SECONDS = 5.0
# Recording a message the platform took: tried again this many times, a moment apart, and given this
# much past the request's deadline (Messenger waits 20 s, the deadline is 17 s): a record that fails
# for good means that message goes out again with the redelivery.
RECORD_ATTEMPTS = 3
RECORD_PAUSE_SECONDS = 0.25
RECORD_GRACE_SECONDS = 2.5


class Lookup:
    """The person's profile, asked in a thread of its own once the first reply is out (not to compete with
    it): the greeting says "there" instead of a name; what it finds is stored with the last record."""

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


class Sending:
    """One delivery's claimed entries on their way out. ``unprompted``: the bot wrote first (a
    reminder), so a person who blocked the bot counts as a refused reminder."""

    def __init__(
        self,
        key: str,
        claim_id: str,
        channel: Channel,
        store: Store,
        *,
        lease: float,
        clock: Callable[[], float] = time.time,
        unprompted: bool = False,
        lookup: Lookup | None = None,
        channels: Callable[[str], Channel | None] | None = None,
    ) -> None:
        self.key, self.claim_id, self.channel, self.store = key, claim_id, channel, store
        self.lease, self.clock, self.unprompted, self.lookup = lease, clock, unprompted, lookup
        self.channels = channels  # for entries another channel sends (``Taken.via``)
        self.items: list[dict] = []  # what went out, in order (the web chat answers with them)
        self.gone = False  # the platform says the person is gone (blocked the bot)
        self.lost = False  # another delivery took the entries over (our lease ran out): it sends the rest
        self.failed = False  # a send failed for now (or the time ran out): the platform's retry sends the rest
        self.refused_inbox: list[str] = []  # what the owner's inbox refused, to keep for a new topic

    def run(self, taken: list[Taken]) -> bool:
        """Send every claimed entry from where it stopped; True when all went out."""
        started = time.monotonic()
        try:
            for n, entry in enumerate(taken):
                if entry.sent >= len(entry.items) and not self.record(entry, entry.sent, last=n == len(taken) - 1):
                    return False  # every message of it went out, but it was not cleared yet
                for index in range(entry.sent, len(entry.items)):
                    if time.monotonic() - started > SEND_BUDGET_SECONDS or not self.room_to_send():
                        logs.get().warning("send budget used up, the retry sends the rest", extra={"key": self.key})
                        self.failed = True
                        self.release(taken[n:], index)
                        return False
                    if not self.send(entry.items[index], self.channel_of(entry), to_person=not entry.via):
                        self.failed = True
                        self.release(taken[n:], index)
                        return False
                    faults.point("after-send")
                    if not self.record(entry, index + 1, last=n == len(taken) - 1 and index == len(entry.items) - 1):
                        return False
                    faults.point("after-progress")
        except faults.Injected:
            raise
        except BaseException:
            # Ctrl-C in `telegram-poll`, a worker told to stop: hand back what is not sent, so that
            # the next delivery takes it at once instead of waiting for the lease to run out.
            self.release(taken, None, quietly=True)
            raise
        if not taken and self.lookup is not None:
            self.record(None, 0, last=True)
        return True

    @staticmethod
    def room_to_send() -> bool:
        return deadline.left(SEND_ROOM_SECONDS) >= SEND_ROOM_SECONDS

    def channel_of(self, entry: Taken) -> Channel | None:
        if not entry.via or entry.via == self.channel.name:
            return self.channel
        return self.channels(entry.via) if self.channels is not None else None

    def send(self, item: dict, channel: Channel | None, to_person: bool = True) -> bool:
        """One message; False when it could not go now (worth retrying). A permanent refusal is logged
        and passed over: retrying would repeat it; one by the owner's inbox (``to_person`` false: a
        topic deleted, the bot removed from the group) keeps the text for a topic made anew, and says
        nothing about the person. A channel that is off here cannot send: retried."""
        if channel is None:
            logs.get().warning("the channel of queued messages is off here", extra={"key": self.key})
            return False
        try:
            channel.send(item)
        except SendFailed as failure:
            if failure.transient:
                logs.get().warning("send failed, will retry", extra={"key": self.key, "reason": str(failure)})
                return False
            if not to_person:
                text = cast(Forums, channel).text_of(item) if hasattr(channel, "text_of") else ""
                self.refused_inbox += [text] if text else []
                logs.get().error("the owner's inbox refused a message", extra={"key": self.key, "reason": str(failure)})
                return True
            self.gone = self.gone or failure.user_gone and channel is self.channel
            logs.get().error("send refused, dropped", extra={"key": self.key, "reason": str(failure)})
            return True
        except Exception:
            # A bug rendering or sending one message: retrying would repeat it. Dropped, logged.
            logs.get().exception("send crashed, dropped", extra={"key": self.key})
            return True
        if channel is self.channel:  # what went to this person (the web chat answers with it), not to the owner
            self.items.append(item)
        if self.lookup is not None:
            self.lookup.start()  # the first reply is out
        return True

    def record(self, entry: Taken | None, sent: int, last: bool) -> bool:
        """Record that ``sent`` messages of ``entry`` went out (the entry goes once all did), renewing
        the lease; on the ``last`` record, the profile looked up meanwhile. False when the entry is
        no longer this delivery's."""
        profile = self.lookup.result() if last and self.lookup is not None else None
        fields: dict[tuple[str, ...], Any] = {("profile", name): value for name, value in (profile or {}).items()}
        if entry is not None:
            path = ("delivery", "outbox", entry.seq)
            if sent >= len(entry.items):
                fields[path] = DELETE
            else:
                fields[(*path, "sent")] = sent
                fields[(*path, "lease_until")] = self.store.now() + self.lease
        ours = [True]

        def step(doc: dict | None):
            conv, record = read(self.key, doc)
            changed, ours[0] = False, True  # what this run finds (a store may run a step twice)
            if entry is not None:
                found = record.outbox.get(entry.seq)
                if found is None or found.get("claim") != self.claim_id:
                    ours[0] = False  # taken over, or finished by the delivery that took it over
                elif sent >= len(entry.items):
                    del record.outbox[entry.seq]
                    changed = True
                else:
                    found.update(sent=sent, lease_until=self.store.now() + self.lease)
                    changed = True
            if profile and doc is not None and not doc.get(FORGOTTEN) and not conv.profile.get("looked_up"):
                conv.profile.update(profile)
                changed = True
            if self.refused_inbox and doc is not None and not doc.get(FORGOTTEN):
                record.keep_for_topic(self.refused_inbox)
                changed = True
            if self.gone and conv.active and doc is not None and not doc.get(FORGOTTEN):
                conv.active, changed = False, True
                if self.unprompted:
                    tally.add(record.tally, tally.REMINDERS_REFUSED, self.clock())
            return (Change(document(conv, record)) if changed else None), None

        faults.point("before-progress")
        with deadline.extended(RECORD_GRACE_SECONDS):
            self.write(step, fields)
        if entry is not None:
            entry.sent = sent
        self.lost = self.lost or not ours[0]
        if self.lost:
            logs.get().warning("replies taken over by another delivery", extra={"key": self.key})
        return ours[0]

    def write(self, step, fields: dict[tuple[str, ...], Any]) -> None:
        """One record, tried again a moment later when the store failed: a store that stays down
        raises (the request answers 503, and the message in flight is the one sent again)."""
        for attempt in range(RECORD_ATTEMPTS):
            try:
                if self.gone or self.refused_inbox:
                    # The person is gone (the wake index must drop them too, which a full step keeps in
                    # line), or the inbox refused what is to be kept for a new topic: a full step.
                    self.store.transact(self.key, step, token=self.claim_id)
                    self.refused_inbox = []
                elif fields:
                    self.store.patch(self.key, self.claim_id, fields, step)
                return
            except StoreUnavailable as error:
                pause = RECORD_PAUSE_SECONDS * (attempt + 1)
                if attempt == RECORD_ATTEMPTS - 1 or deadline.left(pause + 1.0) < pause + 1.0:
                    raise
                logs.get().warning("recording a sent message failed, trying again", extra={"error": str(error)})
                time.sleep(pause)

    def release(self, taken: list[Taken], sent: int | None, quietly: bool = False) -> None:
        """Hand back the entries not finished: the first at ``sent`` messages out (None: as recorded),
        free for the next delivery (the platform's retry) to take at once."""
        fields: dict[tuple[str, ...], Any] = {}
        for n, entry in enumerate(taken):
            path = ("delivery", "outbox", entry.seq)
            if n == 0 and sent is not None:
                fields[(*path, "sent")] = entry.sent = sent
            fields[(*path, "claim")], fields[(*path, "lease_until")] = None, 0

        def step(doc: dict | None):
            conv, record = read(self.key, doc)
            changed = False
            for entry in taken:
                found = record.outbox.get(entry.seq)
                if found is None or found.get("claim") != self.claim_id:
                    continue
                found.update(claim=None, lease_until=0, sent=entry.sent)
                changed = True
            return (Change(document(conv, record)) if changed else None), None

        try:
            self.store.patch(self.key, self.claim_id, fields, step)
        except Exception as error:
            # The lease runs out by itself: the retry takes the entries over then.
            if not quietly:
                logs.get().warning("could not hand the replies back", extra={"error": type(error).__name__})
