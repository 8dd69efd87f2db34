"""What the person taking over reads: the request, where the learner stands and the last exchanges,
and the notes their topic gets (the bot's own words to the owner, in English like its other notices).

The last few exchanges are kept in the learner's record (``turns``) only where a person can take
over, so that the owner's first message shows what happened before the learner asked.
"""

from __future__ import annotations

from chatbot.core import channels as registry
from chatbot.core.text import plain_text
from chatbot.delivery.channel import Channel
from chatbot.delivery.record import DeliveryRecord
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Reply, Update

KEEP_TURNS = 8  # the exchanges the owner's first message shows
TURN_CHARS = 300
FORGOTTEN_NOTE = "This learner asked to be forgotten: the bot deleted what it kept of them. Delete this topic too."


def remember(record: DeliveryRecord, update: Update, replies: list[Reply]) -> None:
    """Keep the exchange for the owner's first message, should the learner ask for a person."""
    said = words_of(update)
    if said:
        record.turns.append({"from": "person", "text": said[:TURN_CHARS]})
    for reply in replies:
        shown = reply.text or " · ".join(card.title for card in reply.cards)
        if shown:
            record.turns.append({"from": "bot", "text": shown[:TURN_CHARS]})
    del record.turns[:-KEEP_TURNS]


def words_of(update: Update) -> str:
    """A learner's update as the owner reads it."""
    if update.text:
        return f"/{update.command} {update.text}" if update.command else update.text
    if update.command:
        return f"/{update.command}"
    if update.payload:
        return f"[pressed “{update.label or update.payload}”]"
    return f"[sent a {update.attachment}: only text reaches you]" if update.attachment else ""


UNKNOWN_NAME = "The learner"  # until the platform says their name


def learner_name(conv: Conversation) -> str:
    """Their name as the owner sees it: without control or format characters (a right-to-left override
    in a name would turn the topic's title and the owner's lines around)."""
    return plain_text(str(conv.profile.get("first_name") or "")) or UNKNOWN_NAME


def title(channel: str) -> str:
    return registry.info(channel).title if channel in registry.NAMES else channel


def topic_name(conv: Conversation) -> str:
    """The topic's name: the person, their channel, and a few characters of their id (two Anas)."""
    return f"{learner_name(conv)[:60]} · {title(conv.channel)} · {conv.user_id[-4:]}"[:128]


def intro(update: Update | None, conv: Conversation, record: DeliveryRecord, note: str) -> str:
    """The owner's first message in the topic: who asks, what, where they are, the last exchanges."""
    name = learner_name(conv)
    asked = f": “{words_of(update)}”" if update is not None and words_of(update) else ""
    lines = [f"{name} on {title(conv.channel)} asks for a person{asked}"]
    if note:
        lines.append(note)
    if record.turns:
        lines.append("The last messages:")
        lines += [f"{name if turn['from'] == 'person' else 'Bot'}: {turn['text']}" for turn in record.turns]
    lines.append(f"Everything you write in this topic goes to {name}. /done ends it and gives them back to the bot.")
    return "\n".join(lines)


def cannot_reach(conv: Conversation, channel: Channel, now: float) -> str:
    name = learner_name(conv)
    if not conv.active:
        return f"{name} has blocked the bot or left {title(channel.name)}: nothing reaches them. /done closes this."
    days = int((now - conv.last_message_at) // 86400)
    return (
        f"{title(channel.name)} no longer lets anyone answer {name}: their last message was {days} days ago. "
        f"They can write again whenever they like; /done closes this."
    )
