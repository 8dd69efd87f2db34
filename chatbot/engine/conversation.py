"""A conversation's state, as the engine keeps it, and how a document written by older code is
brought up to the current shape."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatbot.core.copies import clone, fields_of

CONVERSATION_VERSION = 2


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
