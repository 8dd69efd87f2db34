"""A person behind the bot: a conversation handed to the owner, and the messages between them.

    learner asks ─▶ engine (Turn.handoff "open") ─▶ open: the record below, the owner's topic
    learner writes ─▶ their event, recorded; the engine not run ─▶ outbox via the owner's channel
    owner writes in the topic ─▶ route() ─▶ an update of the learner's conversation, owner:<id>
                             ─▶ recorded there; rendered as a person's words for their channel
    /done, the dashboard, HANDOFF_IDLE_HOURS, "back to the bot" ─▶ close: the bot answers again

Both directions are events of the learner's conversation, applied once with the state they change
and sent from its outbox (relay.py), so each message goes out once, whatever crashes or redelivers,
and the platform's 200 waits until it went. The learner's progress is not touched; a reminder due
meanwhile is held until they are back (relay.apply).

The record, in the learner's document under ``delivery.handoff`` (a field queries read):
``open``; ``since`` and ``last_at`` (the learner's request, the last word from either side);
``mode``: "topic" (the owner's Telegram forum, HANDOFF_TELEGRAM_CHAT_ID) or "inbox" (Messenger's
Page Inbox, HANDOFF_MESSENGER=inbox); ``chat``, ``topic`` and ``topic_open`` (the learner's topic,
kept after a handoff ends and reopened for the next: one topic per learner, its id also the way back
from the owner's message to the learner); ``event``, the request's event id; ``intro`` and
``waiting``, the owner's first message and what the learner wrote before the topic existed;
``answered_at``, when a person first answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import cast

from chatbot.core import channels as registry
from chatbot.core import logs
from chatbot.delivery import tally
from chatbot.delivery.briefing import (
    FORGOTTEN_NOTE,
    cannot_reach,
    intro,
    learner_name,
    remember,
    words_of,
)
from chatbot.delivery.channel import Channel, Forums, HandsOver
from chatbot.delivery.hours import OfficeHours
from chatbot.delivery.record import TRANSCRIPT_LENGTH, DeliveryRecord, wait_for_topic
from chatbot.engine import chat
from chatbot.engine.context import People, Turn
from chatbot.engine.conversation import Conversation
from chatbot.engine.skills import Skills
from chatbot.engine.types import Reply, Update
from chatbot.store.base import OwnerQueries

# What the owner's side does arrives as an update of the learner's conversation from the bot's side
# (``from_bot``: no platform or person can make one), its event id saying where it came from.
OWNER_EVENT = "owner:"  # a message or /done in the learner's topic: owner:<update_id>
DESK_EVENT = "desk:"  # an answer or an ending written on the dashboard: desk:<nonce of the form>
IDLE_EVENT = "idle:"  # ended after HANDOFF_IDLE_HOURS without a word: idle:<time of the last word>
INBOX_EVENT = "inbox:"  # Messenger's Page Inbox took the conversation or gave it back
EVENTS = (OWNER_EVENT, DESK_EVENT, IDLE_EVENT, INBOX_EVENT)
DONE = "HANDOFF_DONE"  # the payload that ends a handoff
INBOX_TOOK, INBOX_RETURNED = "INBOX_TOOK", "INBOX_RETURNED"
ENDED = "HANDOFF_ENDED"  # what the engine is told when a person ends it: skills.json says goodbye
TOPIC, INBOX = "topic", "inbox"


def is_open(record: DeliveryRecord) -> bool:
    return bool(record.handoff.get("open"))


def is_event(update: Update) -> bool:
    """An update of the owner's side (never a platform's or a person's own)."""
    return update.from_bot and update.event_id.startswith(EVENTS)


@dataclass
class Routed:
    """What a handoff did with an update instead of the engine."""

    conv: Conversation
    replies: list[Reply] = field(default_factory=list)
    unreachable: bool = False  # a person's answer the platform would not take now (the topic is told)


@dataclass
class Handoff:
    """Who can take a conversation over, and how: built once from the settings by ``create_app``."""

    chat: str = ""  # HANDOFF_TELEGRAM_CHAT_ID: the owner's forum supergroup
    owner: Callable[[], Channel | None] = lambda: None  # the channel of that chat (Telegram), built on first use
    owner_name: str = registry.TELEGRAM.name
    messenger_inbox: bool = False  # HANDOFF_MESSENGER=inbox: Messenger learners go to Meta's Page Inbox
    hours: OfficeHours | None = None  # HANDOFF_HOURS
    idle_seconds: float = 48 * 3600.0  # HANDOFF_IDLE_HOURS

    # ------------------------------------------------------------ who can answer

    def mode_for(self, channel: str) -> str:
        """How a learner of ``channel`` reaches a person: TOPIC, INBOX, or "" (nobody)."""
        if channel == registry.MESSENGER.name and self.messenger_inbox:
            return INBOX
        return TOPIC if self.chat and self.forums() is not None else ""

    def forums(self) -> Forums | None:
        return cast(Forums | None, self.owner()) if self.chat else None

    def people(self, channel: str, record: DeliveryRecord, now: float) -> People | None:
        """What the engine is told: whether a person can take over, has it now, and when they are around."""
        if not self.mode_for(channel) and not is_open(record):
            return None
        around = self.hours is None or self.hours.around(now)
        back_at = None if around or self.hours is None else self.hours.next_start(now)
        return People(open=is_open(record), around=around, back_at=back_at)

    # ------------------------------------------------------------ the owner's chat to the learner

    def from_inbox(self, update: Update) -> bool:
        """Whether ``update`` was written in the owner's chat: never a conversation of its own."""
        return bool(self.chat) and update.channel == self.owner_name and update.user_id.split("/")[0] == self.chat

    def route(self, updates: list[Update], store: OwnerQueries) -> list[Update]:
        """The updates of a request with those written in the owner's chat turned into the learner's:
        a message or /done in a learner's topic. Anything else there (the General topic, a topic of
        no handoff) goes nowhere. The store failing raises: the platform retries."""
        out = []
        for update in updates:
            if not self.from_inbox(update):
                out.append(update)
                continue
            routed = self.to_learner(update, store)
            if routed is None:
                logs.get().info(
                    "owner's chat: not a learner's topic, nothing passed on", extra={"topic": update.thread}
                )
            else:
                out.append(routed)
        return out

    def to_learner(self, update: Update, store: OwnerQueries) -> Update | None:
        if not update.thread:
            return None
        where = [("delivery.handoff.chat", "==", self.chat), ("delivery.handoff.topic", "==", update.thread)]
        keys = [str(row.get("key") or "") for row in store.scan(["key"], where)]
        key = next((k for k in keys if ":" in k), "")
        if not key:
            return None
        channel, user_id = key.split(":", 1)
        done = update.command == "done"
        text = "" if done else (f"/{update.command} {update.text}".strip() if update.command else update.text)
        return Update(
            channel=channel,
            user_id=user_id,
            event_id=f"{OWNER_EVENT}{update.event_id}",
            text=text,
            payload=DONE if done else "",
            attachment=update.attachment,
            first_name=update.first_name,
            from_bot=True,
        )

    # ------------------------------------------------------------ one update, instead of the engine

    def apply(self, update, conv, record, channel: Channel, skills: Skills, now, store_now) -> Routed | None:
        """Handle ``update`` here when a handoff has it (the owner's side; a learner writing to a person);
        None: the engine runs as usual (not handed off, or asking the bot itself: a command, a button,
        "back to the bot")."""
        if is_event(update):
            return self.from_owner(update, conv, record, channel, skills, now, store_now)
        if update.from_bot or not is_open(record):
            return None
        if record.handoff.get("mode") != self.mode_for(channel.name):
            # The owner turned this way of answering off meanwhile: the bot has the conversation again.
            record.handoff.update(open=False, closed_at=now)
            return None
        if update.command or update.payload or asks_for_the_bot(update, conv, record, channel, skills, now, self):
            return None
        return self.forward(update, conv, record, channel, now, store_now)

    def forward(self, update, conv, record, channel: Channel, now, store_now) -> Routed:
        """A learner's message to the person: kept with its event, queued for their topic."""
        chat.take_profile(update, conv)
        conv.last_message_at = conv.updated_at = now
        # Writing, they are reachable again (they may have blocked the bot and unblocked it since).
        conv.active = True
        record.handoff.pop("gone_told", None)
        tally.add(record.tally, tally.MESSAGES, now)
        said = words_of(update)
        if channel.keeps_transcript:
            record.note(update.text or update.label, [])
        record.handoff["last_at"] = now
        self.to_topic(update.event_id, record, said, store_now, waits=True)
        return Routed(conv)

    def to_topic(self, event_id: str, record: DeliveryRecord, text: str, store_now: float, waits: bool = False) -> None:
        """Queue ``text`` for the learner's topic; before it exists, keep it for it (``waits``) or drop it.
        A closed topic still hears the bot's notes (an admin may write there: the owner did)."""
        handoff, forums = record.handoff, self.forums()
        if handoff.get("mode") != TOPIC or forums is None:
            return
        if handoff.get("topic") and (handoff.get("topic_open") or not waits) and handoff.get("chat") == self.chat:
            items = forums.render_in_topic(self.chat, handoff["topic"], text)
            record.enqueue(event_id, items, store_now, via=self.owner_name)
        elif waits:
            wait_for_topic(handoff, [text])

    def from_owner(self, update, conv, record, channel: Channel, skills, now, store_now) -> Routed:
        handoff, name = record.handoff, learner_name(conv)
        if update.event_id.startswith(INBOX_EVENT):
            if update.payload == INBOX_TOOK and not is_open(record) and self.mode_for(channel.name) == INBOX:
                self.open(update, conv, record, channel, now, store_now, mode=INBOX, passing=False)
            elif update.payload == INBOX_RETURNED and is_open(record):
                return self.close(update, conv, record, channel, skills, now, store_now, taking=False)
            return Routed(conv)
        if not is_open(record):
            if update.payload != DONE:
                self.to_topic(
                    update.event_id, record, f"{name} is back with the bot: this was not passed on.", store_now
                )
            return Routed(conv)
        if update.payload == DONE:
            return self.close(update, conv, record, channel, skills, now, store_now, taking=True)
        if not update.text:
            self.to_topic(update.event_id, record, f"Only text reaches {name}: write it as a message.", store_now)
            return Routed(conv)
        items = channel.render_human([Reply(text=update.text)], conv, now) if conv.active else None
        if items is None:
            self.to_topic(update.event_id, record, cannot_reach(conv, channel, now), store_now)
            return Routed(conv, unreachable=True)
        record.enqueue(update.event_id, items, store_now)
        if channel.keeps_transcript:
            record.transcript.append({"from": "bot", "reply": Reply(text=update.text).to_dict(), "by": "owner"})
            del record.transcript[:-TRANSCRIPT_LENGTH]
        if not handoff.get("answered_at"):
            handoff["answered_at"] = now
            tally.add(record.tally, tally.HANDOFFS_ANSWERED, now)
            tally.add(record.tally, tally.HANDOFF_WAIT_SECONDS, now, round(now - float(handoff.get("since") or now)))
        handoff["last_at"] = now
        if update.event_id.startswith(DESK_EVENT):
            self.to_topic(update.event_id, record, f"Answered from the dashboard: {update.text}", store_now)
        return Routed(conv)

    # ------------------------------------------------------------ opening and closing

    def after_turn(self, turn: Turn, update: Update, conv, record, channel: Channel, now, store_now) -> None:
        """After the engine answered a learner: keep the exchange for a person who may take over, and
        open or close the handoff it asked for (its replies are queued already)."""
        if update.from_bot:
            return
        if turn.erase:
            self.forgotten(update, conv, record, store_now)
            return
        if turn.handoff == "open" and not is_open(record) and self.mode_for(channel.name):
            self.open(update, conv, record, channel, now, store_now, note=turn.handoff_note)  # before this exchange
        elif turn.handoff == "close" and is_open(record):
            if is_inbox(record):
                record.enqueue(update.event_id, [self.taking_back(conv, channel)], store_now)
            self.finish(update, record, now, store_now, f"{learner_name(conv)} went back to the bot.")
        if self.mode_for(channel.name) or is_open(record):
            remember(record, update, turn.replies)

    def open(self, update, conv, record, channel, now, store_now, mode: str = "", note: str = "", passing=True) -> None:
        mode = mode or self.mode_for(channel.name)
        handoff = record.handoff
        kept = {k: handoff[k] for k in ("chat", "topic") if k in handoff and handoff.get("chat") == self.chat}
        record.handoff = {**kept, "open": True, "mode": mode, "since": now, "last_at": now, "event": update.event_id}
        tally.add(record.tally, tally.HANDOFFS_OPENED, now)
        if mode == TOPIC:
            record.handoff.update(chat=self.chat, topic_open=False, intro=intro(update, conv, record, note))
        elif passing:
            item = cast(HandsOver, channel).handing_over(conv, True, f"{learner_name(conv)} asked for a person")
            record.enqueue(update.event_id, [item], store_now)

    def close(self, update, conv, record, channel: Channel, skills, now, store_now, taking: bool) -> Routed:
        """A person ended it (/done, the dashboard, idle, the Page Inbox): the learner hears so from the bot."""
        items = [self.taking_back(conv, channel)] if taking and is_inbox(record) else []
        replies = goodbye(update, conv, skills, now, channel)
        if replies and (channel.keeps_transcript or channel.may_send_unprompted(conv, now)):
            items += channel.render(replies, conv, update, record.short_payload)
            if channel.keeps_transcript:
                record.note("", replies)
        record.enqueue(update.event_id, items, store_now)
        why = ""
        if update.event_id.startswith(IDLE_EVENT):
            why = f" (nobody wrote for {round(self.idle_seconds / 3600)} hours)"
        elif update.event_id.startswith(DESK_EVENT):
            why = " (ended from the dashboard)"
        self.finish(update, record, now, store_now, f"Done: {learner_name(conv)} is back with the bot{why}.")
        return Routed(conv, replies)

    def taking_back(self, conv: Conversation, channel: Channel) -> dict:
        """Messenger's Page Inbox gives the conversation back (take_thread_control): first, since only the
        app that holds a conversation may write to it."""
        return cast(HandsOver, channel).handing_over(conv, False, "")

    def finish(self, update: Update, record: DeliveryRecord, now: float, store_now: float, told: str) -> None:
        """Close the record; the owner's topic hears ``told`` and is closed."""
        handoff, forums = record.handoff, self.forums()
        tally.add(record.tally, tally.HANDOFFS_CLOSED, now)
        if handoff.get("topic_open") and forums is not None and handoff.get("chat") == self.chat:
            items = forums.render_in_topic(self.chat, handoff["topic"], told)
            items.append(forums.closing_topic(self.chat, handoff["topic"]))
            record.enqueue(update.event_id, items, store_now, via=self.owner_name)
        for gone in ("intro", "waiting", "gone_told"):
            handoff.pop(gone, None)
        handoff.update(open=False, topic_open=False, closed_at=now)

    def forgotten(self, update: Update, conv, record: DeliveryRecord, store_now: float) -> None:
        """The learner asked to be forgotten: their topic is told and closed with the confirmation
        (kept in the tombstone, record.tombstone); nothing else of the handoff stays."""
        handoff, forums = record.handoff, self.forums()
        if handoff.get("topic") and handoff.get("chat") == self.chat and forums is not None:
            items = forums.render_in_topic(self.chat, handoff["topic"], FORGOTTEN_NOTE)
            if handoff.get("topic_open"):
                items.append(forums.closing_topic(self.chat, handoff["topic"]))
            record.enqueue(update.event_id, items, store_now, via=self.owner_name)
        record.handoff, record.turns = {}, []

    def forgotten_topic(self, handoff: dict) -> None:
        """A learner forgotten by the owner's command or Meta's deletion request: their topic hears so and
        is closed. Said straight away, not from an outbox: nothing of the person is kept to send it from
        (a failed send leaves the topic open, with a line in the log)."""
        forums, owner = self.forums(), self.owner()
        topic = str(handoff.get("topic") or "")
        if forums is None or owner is None or not topic or handoff.get("chat") != self.chat:
            return
        items = forums.render_in_topic(self.chat, topic, FORGOTTEN_NOTE)
        if handoff.get("topic_open"):
            items.append(forums.closing_topic(self.chat, topic))
        for item in items:
            owner.send(item)


# ---------------------------------------------------------------- what is said, and to whom


def asks_for_the_bot(update, conv, record, channel: Channel, skills: Skills, now, handoff: Handoff) -> bool:
    """Whether typed text during a handoff is meant for the bot ("back to the bot"): the engine, run on a
    copy (it is pure), would close the handoff. Everything else a learner types goes to the person."""
    try:
        copy = Conversation.from_dict(conv.to_dict())
        people = handoff.people(channel.name, record, now)
        return (
            chat.handle(update, copy, skills, now, window=channel.unprompted_window, people=people).handoff == "close"
        )
    except Exception:
        return False  # the engine failed on it: a person reads it instead


def goodbye(update: Update, conv: Conversation, skills: Skills, now: float, channel: Channel) -> list[Reply]:
    """What the bot says when a person ends the handoff: skills.json's intent for ENDED."""
    try:
        said = replace(update, payload=ENDED, text="", command="", attachment="", from_bot=True)
        return chat.handle(said, conv, skills, now, window=channel.unprompted_window).replies
    except Exception:
        logs.get().exception("the handoff's goodbye failed", extra={"event_id": update.event_id})
        return []


def learner_profile(conv: Conversation, channel: Channel | None) -> dict:
    """The learner's profile from their platform, when their name is not known yet and it can say
    (Messenger's, asked once); {} otherwise, or when the platform would not say."""
    if conv.profile.get("first_name") or channel is None or not channel.needs_profile(conv):
        return {}
    try:
        return {**channel.fetch_profile(conv.user_id), "looked_up": True}
    except Exception as error:  # the name is a nicety: the topic is made without it
        logs.get().warning("the learner's profile could not be read", extra={"error": type(error).__name__})
        return {}


def is_inbox(record: DeliveryRecord) -> bool:
    return record.handoff.get("mode") == INBOX
