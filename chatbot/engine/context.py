"""What an intent and its action see (``Context``), what a turn produced (``Turn``), and how the
replies skills.json declares are built."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from chatbot.engine.conversation import Conversation
from chatbot.engine.skills import Skills
from chatbot.engine.types import Button, Card, Reply, Update


@dataclass(frozen=True)
class People:
    """Whether a person (the bot's owner or their team) can take the conversation over, as the relay
    knows it: the engine offers and confirms a handoff with it (``Context.handoff``); the relay does
    the rest."""

    open: bool = False  # a person has this conversation now: the handoff is open
    around: bool = True  # inside the owner's office hours, or none were set
    back_at: float | None = None  # outside them: when they start again (seconds since 1970)


@dataclass
class Context:
    """What an action sees: the update, the conversation it may change, and how to speak."""

    update: Update
    conversation: Conversation
    skills: Skills
    locale: str
    args: dict
    now: float
    window: float | None = None  # how long after the person's last message the channel lets the bot write
    replies: list[Reply] = field(default_factory=list)
    filed: list[tuple[str, dict]] = field(default_factory=list)
    goto: str | None = None
    goto_set: bool = False
    erase: bool = False  # the person asked to be forgotten: nothing of this conversation is kept
    people: People | None = None  # who can take over here; None: nobody, the bot is all there is
    handoff: str = ""  # asked of the relay: "open" (pass me to a person) or "close" (back to the bot)
    handoff_note: str = ""  # for the person taking over: where the conversation stands (a skill, a step)

    def t(self, key: str, /, **fields: Any) -> str:
        return self.skills.text(key, self.locale, **(self.fields() | fields))

    def fields(self) -> dict:
        profile = self.conversation.profile
        name = profile.get("first_name") or self.skills.text("default_name", self.locale)
        return {"first_name": name, **self.conversation.slots, **self.args}

    def say(self, reply: Reply) -> None:
        self.replies.append(reply)

    def menu(self, name: str) -> list[Button]:
        return buttons_from(self.skills.data.get("menus", {})[name], self)

    def set_state(self, state: str | None) -> None:
        self.goto, self.goto_set = state, True

    def file(self, queue: str, record: dict) -> None:
        """Keep ``record`` in ``queue`` (suggestions, say), written with this step or not at all."""
        self.filed.append((queue, record))


@dataclass
class Turn:
    """What one update made the bot do: the replies, and the records filed in queues."""

    replies: list[Reply]
    filed: list[tuple[str, dict]]
    intent: str = ""  # what the engine understood the update as (the fallback when it did not)
    args: dict = field(default_factory=dict)
    answered: str = ""  # the intent that answered, after any redirect ("hours_unclear" for unreadable hours)
    erase: bool = False  # delete everything about this person once the replies are queued
    locale: str = ""  # the language the bot answered in
    handoff: str = ""  # the relay is asked to hand the conversation to a person ("open") or back ("close")
    handoff_note: str = ""  # for that person: where the conversation stands


class IntentFailed(RuntimeError):
    """An intent or its action raised: a bug in the bot, named so the log says where."""

    def __init__(self, intent: str):
        super().__init__(f"intent {intent!r} failed")
        self.intent = intent


def buttons_from(spec: list | str, ctx: Context) -> list[Button]:
    if isinstance(spec, str):
        return ctx.menu(spec)
    buttons = []
    for item in spec:
        title = ctx.t(item["title"])
        if "url" in item:
            buttons.append(Button(title=title, url=item["url"]))
        else:
            payload = fill_payload(item["payload"], ctx.fields())
            buttons.append(Button(title=title, payload=payload, means=tuple(item.get("means", ()))))
    return buttons


def fill_payload(template: str, fields: dict) -> str:
    return re.sub(r"\{([a-z_]+)\}", lambda m: str(fields.get(m.group(1), "")), template)


def reply_from(spec: dict, ctx: Context) -> Reply:
    reply = Reply(text=ctx.t(spec["text"]) if "text" in spec else "")
    reply.quick_replies = buttons_from(spec.get("quick_replies", []), ctx)
    reply.buttons = buttons_from(spec.get("buttons", []), ctx)
    for card in spec.get("cards", []):
        reply.cards.append(
            Card(
                title=ctx.t(card["title"]),
                subtitle=ctx.t(card["subtitle"]) if "subtitle" in card else "",
                image_url=card.get("image", ""),
                url=card.get("url", ""),
                buttons=buttons_from(card.get("buttons", []), ctx),
            )
        )
    return reply
