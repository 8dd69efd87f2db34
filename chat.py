"""The neutral conversation: types shared by every channel, and the engine.

``handle(update, conversation, skills, now)`` is pure: no network, no Flask,
no clock of its own. It reads skills.json (through ``Skills``), runs the
matching intent and returns the replies, changing the conversation in place.
"""

from __future__ import annotations

import copy
import hashlib
import re
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from skills import Skills, utf16_len

CONVERSATION_VERSION = 1
RECENT_EVENTS = 100  # event ids kept for deduplication; platforms redeliver within minutes
RECENT_PAYLOAD_KEYS = 200  # short callback keys kept for Telegram (64-byte callback_data)
OUTBOX_MAX_AGE = 24 * 3600  # a reply still unsent after a day is stale; Messenger's window is closed too
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
    callback_id: str = ""
    timestamp: float = 0.0
    from_bot: bool = False  # the bot speaking first (a reminder), not the user: no activity, no profile

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass
class Button:
    title: str
    payload: str = ""
    url: str = ""

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
    """Everything we keep about one user on one channel: one document, bounded in size."""

    key: str
    state: str | None = None
    slots: dict = field(default_factory=dict)
    profile: dict = field(default_factory=dict)
    progress: dict = field(default_factory=dict)
    events: list = field(default_factory=list)
    outbox: dict = field(default_factory=dict)
    next_seq: int = 1
    payload_keys: dict = field(default_factory=dict)
    choices: list = field(default_factory=list)
    suggestions: list = field(default_factory=list)
    reminder: dict = field(default_factory=dict)
    active: bool = True
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
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> Conversation:
        data = upgrade(copy.deepcopy(data))
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def reminder_due(self) -> float | None:
        """When the next reminder is due, for the store's reminders index; None when none is."""
        reminder = self.reminder
        if not reminder.get("enabled") or reminder.get("pending") or not self.active or not reminder.get("due_at"):
            return None
        return float(reminder["due_at"])

    def seen(self, event_id: str) -> bool:
        return event_id in self.events

    def remember(self, event_id: str) -> None:
        self.events.append(event_id)
        del self.events[:-RECENT_EVENTS]

    def enqueue(self, event_id: str, items: list[dict], now: float) -> None:
        """Put the rendered messages of one event in the outbox until they are sent."""
        if items:
            self.outbox[str(self.next_seq)] = {"event": event_id, "items": items, "created_at": now}
        self.next_seq += 1

    def claim(self, token: str, now: float, lease: float) -> list[tuple[str, dict]]:
        """Take every outbox entry nobody else is sending right now, oldest first. Entries
        already under ``token`` are taken again: a write that landed although its answer was
        lost, retried, must not leave its own replies locked out."""
        taken = []
        for seq in sorted(self.outbox, key=int):
            entry = self.outbox[seq]
            if now - entry.get("created_at", now) > OUTBOX_MAX_AGE:
                del self.outbox[seq]
                continue
            if entry.get("claim") not in (None, token) and entry.get("lease_until", 0) > now:
                continue
            entry["claim"], entry["lease_until"] = token, now + lease
            taken.append((seq, entry))
        return taken

    def short_payload(self, payload: str) -> str:
        """A short stand-in for a payload too long for a channel, remembered here."""
        short = "~" + hashlib.sha256(payload.encode()).hexdigest()[:16]
        self.payload_keys.pop(short, None)
        self.payload_keys[short] = payload
        while len(self.payload_keys) > RECENT_PAYLOAD_KEYS:
            self.payload_keys.pop(next(iter(self.payload_keys)))
        return short


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


UPGRADES: dict = {}


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
    replies: list[Reply] = field(default_factory=list)
    goto: str | None = None
    goto_set: bool = False

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


def buttons_from(spec: list | str, ctx: Context) -> list[Button]:
    if isinstance(spec, str):
        return ctx.menu(spec)
    buttons = []
    for item in spec:
        title = ctx.t(item["title"])
        if "url" in item:
            buttons.append(Button(title=title, url=item["url"]))
        else:
            buttons.append(Button(title=title, payload=fill_payload(item["payload"], ctx.fields())))
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
    return " ".join(text.strip().split())[:1000]


def choose_intent(update: Update, conv: Conversation, skills: Skills, locale: str) -> tuple[str, dict]:
    bot = skills.data["bot"]
    if update.attachment and not update.text:
        return bot["attachment"], {}
    if update.command:
        intent = skills.command_intents.get(update.command)
        return (intent, {}) if intent else (bot["fallback"], {})
    payload = update.payload
    text = normalize(update.text)
    if not payload and text:
        # A typed button title counts as pressing it; then the state's own words.
        typed = text.casefold()
        payload = next((c["payload"] for c in conv.choices if c["title"].casefold() == typed), "")
        payload = payload or skills.match_alias(conv.state, locale, text) or ""
    if payload:
        payload = conv.payload_keys.get(payload, payload)
        found = skills.match_payload(payload)
        return found if found else (bot["fallback"], {})
    if text:
        state = skills.states.get(conv.state or "", {})
        # A state that asks for free text (a suggestion) takes it before any global pattern.
        found = None if state.get("capture_text") else skills.match_text(conv.state, locale, text)
        if found:
            return found
        on_text = state.get("on_text")
        if on_text:
            return on_text, {"text": text}
    return bot["fallback"], {}


def run_intent(name: str, ctx: Context) -> None:
    for _ in range(MAX_REDIRECTS + 1):
        intent = ctx.skills.intents[name]
        for slot, value in intent.get("set", {}).items():
            ctx.conversation.slots[slot] = fill_payload(value, ctx.fields())
        redirect = None
        if "action" in intent:
            redirect = ctx.skills.actions[intent["action"]](ctx)
        if redirect:
            name = redirect
            continue
        for spec in intent.get("say", []):
            ctx.say(reply_from(spec, ctx))
        if not ctx.goto_set:
            ctx.set_state(intent.get("goto"))
        return
    raise RuntimeError(f"intent {name!r} redirects more than {MAX_REDIRECTS} times")


def handle(update: Update, conv: Conversation, skills: Skills, now: float | None = None) -> list[Reply]:
    """Apply one update to the conversation and return what the bot says."""
    now = time.time() if now is None else now
    if update.first_name and not update.from_bot:
        conv.profile["first_name"] = update.first_name[:64]
    if update.locale and not update.from_bot:
        conv.profile["locale"] = update.locale
    locale = skills.pick_locale(conv.profile.get("language") or conv.profile.get("locale"))
    intent, args = choose_intent(update, conv, skills, locale)
    ctx = Context(update=update, conversation=conv, skills=skills, locale=locale, args=args, now=now)
    state_before = conv.state
    run_intent(intent, ctx)
    conv.state = state_before if update.from_bot else ctx.goto
    if not update.from_bot and conv.reminder.get("pending") and "on_return" in skills.data["bot"]:
        # Something the bot could not say while the user was away (Messenger's 24-hour window).
        run_intent(skills.data["bot"]["on_return"], replace(ctx, goto_set=True))
    if not conv.created_at:
        conv.created_at = now
    conv.updated_at = now
    if update.from_bot:
        return ctx.replies
    conv.last_message_at = now
    last_quick = next((r.quick_replies for r in reversed(ctx.replies) if r.quick_replies), [])
    conv.choices = [{"title": b.title, "payload": b.payload} for b in last_quick if b.payload]
    return ctx.replies


def split_text(text: str, limit: int) -> list[str]:
    """Split text into chunks of at most ``limit`` UTF-16 units, at line or word boundaries
    where possible, so no platform has to cut a message for us."""
    text = text.strip()
    if not text:
        return []
    chunks: list[str] = []
    while utf16_len(text) > limit:
        cut = _fit(text, limit)
        window = text[:cut]
        boundary = max(window.rfind("\n"), window.rfind(" "))
        if boundary > cut // 2:
            cut = boundary
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


def _fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def shorten(text: str, limit: int) -> str:
    """Fit a title into ``limit`` UTF-16 units, marking the cut with an ellipsis."""
    if utf16_len(text) <= limit:
        return text
    return text[: _fit(text, limit - 1)].rstrip() + "…"
