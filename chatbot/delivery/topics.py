"""The learner's topic in the owner's forum: made (or reopened) after the write that opened a handoff,
then its first message (the request, the last exchanges, what the learner wrote meanwhile) queued in
the learner's outbox in one write, claimed for the delivery that made it; and the note the topic gets
when the learner turns out to be gone.

Telegram takes no idempotency key: a process that dies between making the topic and recording it
leaves one empty topic behind (the floor, as for a message in flight).
"""

from __future__ import annotations

from dataclasses import replace

from chatbot.core import faults, logs
from chatbot.core.outbound import SendFailed
from chatbot.delivery.briefing import UNKNOWN_NAME, cannot_reach, intro, learner_name, topic_name
from chatbot.delivery.channel import Channel, Forums
from chatbot.delivery.handoff import TOPIC, Handoff, is_open, learner_profile
from chatbot.delivery.record import DeliveryRecord, Taken, document, read
from chatbot.delivery.sending import Sending
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Update
from chatbot.store.base import Change, Store


def needs_topic(record: DeliveryRecord) -> bool:
    """A handoff to the forum whose topic is not open yet."""
    return is_open(record) and record.handoff.get("mode") == TOPIC and not record.handoff.get("topic_open")


def open_topic(
    handoff: Handoff, store: Store, key: str, token: str, lease: float, channel: Channel | None = None
) -> tuple[list[Taken], bool]:
    """Make (or reopen) the learner's topic and queue its first message. Returns what to send, and
    False when it could not be done now but a retry may do it (the platform retries); True as well
    when the inbox refused for good (what the learner wrote waits for the topic)."""
    forums = handoff.forums()
    if forums is None:
        return [], False
    conv, record = read(key, store.load(key))
    if not needs_topic(record):
        return [], True
    profile = learner_profile(conv, channel)  # the topic is named after them: asked first if unknown
    conv.profile.update(profile)
    made = make_topic(handoff.chat, forums, conv, record, key)
    if isinstance(made, bool):
        return [], made
    topic, new = made
    faults.point("after-topic")
    step = first_message(handoff, forums, key, topic, new, profile, store, token, lease)
    taken, used = store.transact(key, step, token=token)
    if not used and new:
        try:  # another delivery made one meanwhile: this one stays empty, so it goes
            forums.delete_topic(handoff.chat, topic)
        except SendFailed as error:
            logs.get().info("a spare topic stays", extra={"error": str(error)[:200]})
    return taken, bool(taken) or not used


def make_topic(
    chat: str, forums: Forums, conv: Conversation, record: DeliveryRecord, key: str
) -> tuple[str, bool] | bool:
    """The learner's topic id, reopened when they had one in this forum, else made (and whether it is
    new); or, when the platform refused, whether for good (True) or for now (False)."""
    known = str(record.handoff.get("topic") or "")
    try:
        if known and record.handoff.get("chat") == chat and forums.reopen_topic(chat, known):
            return known, False
        return forums.create_topic(chat, topic_name(conv)), True
    except (SendFailed, KeyError, ValueError, TypeError) as error:
        logs.get().warning("could not open the learner's topic", extra={"key": key, "error": str(error)[:300]})
        # Refused for good (the bot removed from the group, no right to make topics): what the learner
        # wrote waits for the topic, the scheduled job tries again, and the alerts tell the owner;
        # answering 503 would only have the platform send the same update again and again.
        return isinstance(error, SendFailed) and not error.transient


def first_message(
    handoff: Handoff,
    forums: Forums,
    key: str,
    topic: str,
    new: bool,
    profile: dict,
    store: Store,
    token: str,
    lease: float,
):
    """The store step that records the topic and queues its first message, claimed for this delivery:
    the request and the last exchanges in a topic new to them (once: a topic opened again after the
    inbox refused it has them already), with the learner's name when it is known by now."""

    def step(doc: dict | None):
        conv, record = read(key, doc)
        if not needs_topic(record):
            return None, ([], False)
        said = record.handoff
        if profile and not conv.profile.get("looked_up"):
            conv.profile.update(profile)  # kept, as the first reply's lookup would have
        first = said.pop("intro", "") or intro(None, conv, record, "")
        texts = []
        if new or not said.get("introduced"):
            name = learner_name(conv)
            texts.append(first.replace(UNKNOWN_NAME, name) if name != UNKNOWN_NAME else first)
        lost = int(said.pop("waiting_lost", 0) or 0)
        if lost:
            who = learner_name(conv)
            texts.append(f"{lost} earlier message(s) from {who} could not be kept while the inbox refused them.")
        said.update(chat=handoff.chat, topic=topic, topic_open=True, introduced=True)
        items = []
        for text in [*texts, *said.pop("waiting", [])]:
            items += forums.render_in_topic(handoff.chat, topic, text)
        seq, now = str(record.next_seq), store.now()
        record.enqueue(str(said.get("event") or "handoff"), items, now, via=handoff.owner_name)
        taken = [entry for entry in record.claim(token, now, lease) if entry.seq == seq]
        return Change(document(conv, record)), (taken, True)

    return step


def tell_gone(
    handoff: Handoff, store: Store, update: Update, channel: Channel, token: str, lease: float, channels
) -> bool:
    """The platform says the learner is gone (blocked the bot) as a person's answer went to them:
    the owner hears it in the topic, once."""

    def step(doc: dict | None):
        conv, record = read(update.key, doc)
        if not is_open(record) or record.handoff.get("gone_told"):
            return None, []
        record.handoff["gone_told"] = True
        seq = str(record.next_seq)
        handoff.to_topic(update.event_id, record, cannot_reach(replace(conv, active=False), channel, 0), store.now())
        taken = [entry for entry in record.claim(token, store.now(), lease) if entry.seq == seq]
        return Change(document(conv, record)), taken

    taken = store.transact(update.key, step, token=token)
    return Sending(update.key, token, channel, store, lease=lease, channels=channels).run(taken) if taken else True
