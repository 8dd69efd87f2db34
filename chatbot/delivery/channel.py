"""The one shape every channel has (fb.py, tg.py, web.py at the top level implement it).

The relay verifies, parses, renders and sends through it; outreach asks it whether the bot may
write first; the owner's side asks it to set its platform up and to say whether it is healthy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from chatbot.core.health import Check
from chatbot.core.outbound import SendFailed
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Reply, Update


class Channel(Protocol):
    name: str
    ack: str  # the body of a 200 to this platform
    unprompted_window: float | None  # how long after a person's last message the bot may write (None: any time)
    keeps_transcript: bool  # the platform keeps no history for us (the web page): we keep the last messages

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        """Whether a request really comes from the platform (its signature or secret, on the raw bytes)."""

    def parse(self, body: Any) -> list[Update]:
        """Every update in a request body, in order; what the bot does not handle is left out."""

    def needs_profile(self, conv: Conversation) -> bool: ...

    def fetch_profile(self, user_id: str) -> dict: ...

    def render(
        self, replies: list[Reply], conv: Conversation, update: Update, short: Callable[[str], str]
    ) -> list[dict]:
        """The platform's messages for ``replies``, each within its limits; ``short`` gives a short key
        for a payload too long for the platform (kept in the delivery record)."""

    def render_human(self, replies: list[Reply], conv: Conversation, now: float) -> list[dict] | None:
        """The platform's messages for what a person (the owner, in a handoff) wrote to this person; None
        when the platform no longer lets a person answer them (Messenger: 7 days after their last message)."""

    def send(self, item: dict) -> None:
        """Send one rendered message; ``SendFailed`` says whether a retry can help."""

    def may_send_unprompted(self, conv: Conversation, now: float) -> bool: ...

    def setup(self, skills: Any) -> list[str]:
        """Make the platform match the settings and skills.json (webhook, commands, profile); what changed."""

    def diagnose(self) -> list[Check]:
        """What the platform says of this bot now (token, webhook, subscription), for doctor and the owner."""

    def noticed(self) -> list[Check]:
        """What the platform said while sending that the owner must hear (a refused token: the same
        check ``diagnose`` would fail), once: each call hands over what was noticed since the last."""

    def patient(self) -> Channel:
        """This channel for a command run by the owner: it may wait out a long rate limit."""


class Forums(Protocol):
    """A channel whose group chats have topics (Telegram's forum supergroups): the owner's inbox of
    conversations handed to a person, a topic each (chatbot/delivery/handoff.py)."""

    def create_topic(self, chat: str, name: str) -> str:
        """A new topic in ``chat``, named ``name``; its id. ``SendFailed`` when the platform refused."""

    def reopen_topic(self, chat: str, topic: str) -> bool:
        """Open a closed topic again (an open one stays as it is); False when it is gone (deleted)."""

    def delete_topic(self, chat: str, topic: str) -> None: ...

    def render_in_topic(self, chat: str, topic: str, text: str) -> list[dict]:
        """The messages that post ``text`` (plain text) in the topic, within the platform's limits."""

    def text_of(self, item: dict) -> str:
        """The plain text a message from ``render_in_topic`` posts ("" for what posts none)."""

    def closing_topic(self, chat: str, topic: str) -> dict:
        """The message (an outbox item, sent like any other) that closes the topic."""

    def inbox_checks(self, chat: str) -> list[Check]:
        """Whether ``chat`` can be the inbox: topics on, the bot an admin that may manage them."""


class HandsOver(Protocol):
    """A channel whose platform has an inbox of its own where a person answers (Messenger's Page
    Inbox, through the Handover Protocol)."""

    def handing_over(self, conv: Conversation, to_inbox: bool, note: str) -> dict:
        """The outbox item that passes the conversation to the platform's inbox (``to_inbox``), or
        takes it back from there."""


class Polling(Channel, Protocol):
    """A channel whose platform can also be asked for updates (Telegram's getUpdates): for a laptop
    with no public URL (`flask --app app telegram-poll`)."""

    def poll(
        self, handle: Callable[[dict], bool], stop_when_idle: bool = False, force: bool = False, say=print
    ) -> int: ...

    def explain(self, error: SendFailed) -> str:
        """One line for the owner on why polling stopped."""
