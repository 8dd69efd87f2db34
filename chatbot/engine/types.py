"""The neutral types every channel speaks: what a person did (``Update``) and what the bot says
(``Reply``, with its ``Button``s and ``Card``s)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    thread: str = ""  # the topic of a group chat it was written in (a Telegram forum's message_thread_id)

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
