"""The neutral conversation: types shared by every channel, and the engine. ``handle(update,
conversation, skills, now)`` is pure: no network, no Flask, no clock of its own. It reads skills.json
(through ``Skills``), runs the matching intent and returns the replies, changing the conversation in place."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from plain import clone, fields_of
from skills import Skills
from understand import ORDINALS, typed_command

CONVERSATION_VERSION = 2
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class Update:
    """One thing a user did, whatever the channel."""

    channel: str
    user_id: str
    event_id: str
    text: str = ""
    payload: str = ""
    command: str = ""
    attachment: str = ""
    first_name: str = ""
    locale: str = ""
    utc_offset: float | None = None  # hours, when the platform or the browser says
    label: str = ""  # what the person saw on the button they pressed (the web page's transcript)
    callback_id: str = ""
    timestamp: float = 0.0
    from_bot: bool = False  # the bot speaking first (a reminder), not the user: no activity, no profile
    opens: bool = False  # what usually comes first from someone never seen (Get Started, /start)

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.user_id}"


class Unreadable(ValueError):
    """A request body a channel cannot read as updates; the message says why (a 400)."""


@dataclass
class Button:
    title: str
    payload: str = ""
    url: str = ""
    means: tuple[str, ...] = ()  # the short answers that choose it when typed ("yes", "later")

    def to_dict(self) -> dict:
        return {"title": self.title, "url": self.url} if self.url else {"title": self.title, "payload": self.payload}


@dataclass
class Card:
    title: str
    subtitle: str = ""
    image_url: str = ""
    url: str = ""
    buttons: list[Button] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "subtitle": self.subtitle,
            "image_url": self.image_url,
            "url": self.url,
            "buttons": [b.to_dict() for b in self.buttons],
        }


@dataclass
class Reply:
    """One turn of the bot: text, then cards; buttons belong to the text, quick replies come last."""

    text: str = ""
    quick_replies: list[Button] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "quick_replies": [b.to_dict() for b in self.quick_replies],
            "buttons": [b.to_dict() for b in self.buttons],
            "cards": [c.to_dict() for c in self.cards],
        }


@dataclass
class Conversation:
    """The engine's state of one person on one channel. The relay stores it in one document
    with its own delivery record; the engine never sees that part."""

    key: str
    state: str | None = None
    slots: dict = field(default_factory=dict)
    profile: dict = field(default_factory=dict)
    progress: dict = field(default_factory=dict)
    choices: list = field(default_factory=list)
    dropped: dict = field(default_factory=dict)  # the progress of skills dropped lately, for "undo"
    reminder: dict = field(default_factory=dict)  # the mentor's reminder settings
    news: dict = field(
        default_factory=dict
    )  # announcements: {"off": True} after "stop announcements"; "suggested" words
    wake: dict = field(default_factory=dict)  # {"at": time, "payload": ...}: when the bot speaks next, unprompted
    held: str = ""  # a wake's payload the channel did not allow; said when the person writes again
    active: bool = True  # False once the platform says the person is gone (blocked the bot)
    created_at: float = 0.0
    updated_at: float = 0.0
    last_message_at: float = 0.0
    version: int = CONVERSATION_VERSION

    @property
    def channel(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def user_id(self) -> str:
        return self.key.split(":", 1)[1]

    def to_dict(self) -> dict:
        return fields_of(self)

    @classmethod
    def from_dict(cls, data: dict) -> Conversation:
        data = upgrade(clone(data))
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def wake_at(self, at: float | None, payload: str = "") -> None:
        """Ask to speak unprompted at ``at`` with ``payload``; None: nothing to say."""
        self.wake = {"at": float(at), "payload": payload} if at is not None else {}

    def wake_again(self, at: float, want: float | None = None) -> None:
        """While a wake is delivered: once it went out, the next one is at ``at`` (first wanted at
        ``want``, before the channel's rules moved it), same payload."""
        if self.wake:
            self.wake["next"] = float(at)
            self.wake["next_want"] = float(at if want is None else want)


def upgrade(data: dict) -> dict:
    """Bring a document written by an older version of the code up to the current shape.

    Each step takes version N to N+1; fields a version did not have take their
    dataclass defaults. A document from newer code is read as far as we know it.
    """
    version = data.get("version", 1)
    while version < CONVERSATION_VERSION:
        data = UPGRADES[version](data)
        version += 1
    data["version"] = max(version, CONVERSATION_VERSION)
    return data


def _wake_from_reminder(data: dict) -> dict:
    """Version 1 kept the reminder's due time and "pending" flag inside the reminder settings."""
    reminder = dict(data.get("reminder") or {})
    due, pending = reminder.pop("due_at", None), reminder.pop("pending", False)
    data["reminder"] = reminder
    if reminder.get("enabled") and pending:
        data["held"] = "REMINDER"
    elif reminder.get("enabled") and due:
        data["wake"] = {"at": float(due), "payload": "REMINDER"}
    return data


UPGRADES: dict = {1: _wake_from_reminder}


# ---------------------------------------------------------------- the engine


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


def normalize(text: str) -> str:
    return " ".join(text.split())[:1000]


def choose_intent(update: Update, conv: Conversation, skills: Skills, locale: str) -> tuple[str, dict]:
    bot = skills.data["bot"]
    if update.attachment and not update.text:
        return bot["attachment"], {}
    text = normalize(update.text)
    command = update.command or typed_command(text, skills.command_intents)
    if command:
        return skills.command_intents.get(command) or bot["fallback"], {}
    payload = update.payload
    if not payload and text:
        # A typed button title or a short answer ("sure", "the second one") presses it; then the state's words.
        payload = skills.pick_choice(conv.choices, locale, text) or skills.match_alias(conv.state, locale, text) or ""
    if payload:
        found = skills.match_payload(payload)
        return found if found else (bot["fallback"], {})
    if text:
        state = skills.states.get(conv.state or "", {})
        # A state asking for free text (a suggestion) takes it before any global pattern but its own.
        found = skills.match_text(conv.state, locale, text, scoped_only=bool(state.get("capture_text")))
        if found:
            return found
        on_text = state.get("on_text")
        if on_text:
            return on_text, {"text": text}
    return bot["fallback"], {}


def run_intent(name: str, ctx: Context) -> str:
    """Run intent ``name`` and the ones its action redirects to; the name of the one that answered."""
    for _ in range(MAX_REDIRECTS + 1):
        intent = ctx.skills.intents[name]
        try:
            for slot, value in intent.get("set", {}).items():
                ctx.conversation.slots[slot] = fill_payload(value, ctx.fields())
            redirect = ctx.skills.actions[intent["action"]](ctx) if "action" in intent else None
            if not redirect:
                for spec in intent.get("say", []):
                    ctx.say(reply_from(spec, ctx))
        except Exception as error:
            raise IntentFailed(name) from error
        if redirect:
            name = redirect
            continue
        if not ctx.goto_set:
            ctx.set_state(intent.get("goto"))
        return name
    raise IntentFailed(name) from RuntimeError(f"redirects more than {MAX_REDIRECTS} times")


def handle(
    update: Update, conv: Conversation, skills: Skills, now: float | None = None, window: float | None = None
) -> Turn:
    """Apply one update to the conversation and return what the bot says and files. ``window``: how
    long after the person's last message their channel lets the bot write unprompted (None: any time)."""
    now = time.time() if now is None else now
    take_profile(update, conv)
    locale = locale_of(conv, skills, update)
    intent, args = choose_intent(update, conv, skills, locale)
    understood = dict(args)
    ctx = Context(update=update, conversation=conv, skills=skills, locale=locale, args=args, now=now, window=window)
    state_before = conv.state
    if not update.from_bot:
        count_misses(conv, intent == skills.data["bot"]["fallback"])
    answered = run_intent(intent, ctx)
    conv.state = state_before if update.from_bot else ctx.goto
    if not update.from_bot and conv.held and "on_return" in skills.data["bot"]:
        # Something the bot could not say while the person was away (Messenger's 24-hour window).
        held, conv.held = conv.held, ""
        run_intent(skills.data["bot"]["on_return"], replace(ctx, goto_set=True, args={"held": held}))
    if not conv.created_at:
        conv.created_at = now
    conv.updated_at = now
    if not update.from_bot:
        conv.last_message_at = now
        if "after_message" in skills.data["bot"]:  # the bot's own bookkeeping after every message
            run_intent(skills.data["bot"]["after_message"], replace(ctx, goto_set=True, replies=[]))
        conv.choices = choices_on_screen(ctx.replies)
    filed = [] if ctx.erase else ctx.filed  # a person forgotten files nothing
    return Turn(ctx.replies, filed, intent=intent, args=understood, answered=answered, erase=ctx.erase)


def count_misses(conv: Conversation, missed: bool) -> None:
    """How many messages in a row the bot did not understand (the fallback reads it), and what was on
    screen before this message: an intent that shows something says so again (``slots["screen"]``)."""
    if missed:
        conv.slots["misses"] = int(conv.slots.get("misses", 0)) + 1
        return
    conv.slots.pop("misses", None)
    conv.slots.pop("screen", None)


def choices_on_screen(replies: list[Reply]) -> list[dict]:
    """What typing may choose next: the last quick replies (with what they mean), and the cards of
    a list (two or more), each by its title and its place ("the second one")."""
    last_quick = next((r.quick_replies for r in reversed(replies) if r.quick_replies), [])
    choices = [{"title": b.title, "payload": b.payload, "means": list(b.means)} for b in last_quick if b.payload]
    cards = next((r.cards for r in reversed(replies) if len(r.cards) >= 2), [])
    for n, card in enumerate(cards):
        payload = next((b.payload for b in card.buttons if b.payload), "")
        means = [ORDINALS[n]] if n < len(ORDINALS) else []
        if payload:
            choices.append({"title": card.title, "payload": payload, "means": means + ["last"] * (n == len(cards) - 1)})
    return choices


def take_profile(update: Update, conv: Conversation) -> None:
    """What the platform says of the person with each message: their name, language and time zone."""
    if not update.from_bot:
        said = {"first_name": update.first_name[:64], "locale": update.locale, "timezone": update.utc_offset}
        conv.profile.update({k: v for k, v in said.items() if v is not None and v != ""})


def apology(skills: Skills, conv: Conversation, update: Update) -> Reply:
    """What a person reads when the bot itself failed on their message."""
    return Reply(text=skills.text("sorry_error", locale_of(conv, skills, update)))


def locale_of(conv: Conversation, skills: Skills, update: Update) -> str:
    """The language chosen, else the platform's; until either is known (Messenger's first message is
    answered before the profile lookup), the language of the message itself."""
    known = conv.profile.get("language") or conv.profile.get("locale")
    return skills.pick_locale(known) if known or not update.text else skills.guess_locale(update.text)
