"""The path of one message: apply an update once, send its replies once.

    transaction: seen? -> claim what is unsent | new -> engine -> queue -> claim
    send the claimed messages in order -> settle (drop what went out, keep the rest)

A failed send (5xx, timeout, long rate limit) leaves the rest in the outbox and
asks the platform to retry (503); the redelivered event is already seen, so
only what was not sent goes out. Channels plug in through ``Channel``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import chat
import logs
from chat import Conversation, Reply, Update
from skills import Skills
from store import Store

LEASE_SECONDS = 60.0  # a claimed outbox entry is someone else's until then (a crashed sender's, at worst)
SEND_BUDGET_SECONDS = 15.0  # stop sending and answer 503 before Messenger's 20-second window closes


class SendFailed(Exception):
    def __init__(self, reason: str, transient: bool, user_gone: bool = False):
        super().__init__(reason)
        self.transient = transient
        self.user_gone = user_gone


class Channel(Protocol):
    name: str

    def needs_profile(self, conv: Conversation) -> bool: ...

    def fetch_profile(self, user_id: str) -> dict: ...

    def render(self, replies: list[Reply], conv: Conversation, update: Update) -> list[dict]: ...

    def send(self, item: dict) -> None: ...


class NeedProfile(Exception):
    """Raised inside a transaction to leave it untouched while the profile is fetched."""


@dataclass
class Delivery:
    ok: bool = True  # False: something is left unsent; the platform should retry
    duplicate: bool = False
    replies: list[Reply] = field(default_factory=list)
    sent: int = 0


def deliver(
    update: Update,
    channel: Channel,
    store: Store,
    skills: Skills,
    *,
    clock: Callable[[], float] = time.time,
    hold: bool = False,
) -> Delivery:
    """Apply ``update`` and send what is owed to this user. ``hold`` queues without sending
    (a message earlier in this request to the same user could not be sent)."""
    claim = uuid.uuid4().hex
    profile: dict = {}
    result = Delivery()

    def step(conv: Conversation) -> tuple[bool, list]:
        now = clock()
        if conv.seen(update.event_id):
            result.duplicate = True
            taken = [] if hold else conv.claim(claim, now, LEASE_SECONDS)
            return bool(taken), taken
        if not profile and not update.first_name and not update.from_bot and channel.needs_profile(conv):
            raise NeedProfile()
        if profile:
            conv.profile.update(profile)
        conv.remember(update.event_id)
        replies = chat.handle(update, conv, skills, now)
        result.replies = replies
        conv.enqueue(update.event_id, channel.render(replies, conv, update), now)
        return True, ([] if hold else conv.claim(claim, now, LEASE_SECONDS))

    try:
        taken = store.transact(update.key, step)
    except NeedProfile:
        profile = channel.fetch_profile(update.user_id)
        profile["looked_up"] = True
        taken = store.transact(update.key, step)
    if result.duplicate:
        logs.get().info("redelivered event", extra={"event_id": update.event_id, "resending": len(taken)})
    if hold:
        result.ok = False
        return result
    if taken:
        result.ok, result.sent = send_claimed(update.key, claim, taken, channel, store, clock)
    return result


def send_claimed(key: str, claim: str, taken: list, channel: Channel, store: Store, clock) -> tuple[bool, int]:
    """Send the claimed outbox entries in order; record what is left. Returns (all sent, count)."""
    started = clock()
    remaining: dict[str, list] = {}
    deactivate = False
    stopped = False
    sent = 0
    for seq, entry in taken:
        items = entry["items"]
        if stopped:
            remaining[seq] = items
            continue
        left: list = []
        for index, item in enumerate(items):
            if clock() - started > SEND_BUDGET_SECONDS:
                stopped, left = True, items[index:]
                logs.get().warning("send budget used up, leaving the rest for the retry", extra={"key": key})
                break
            try:
                channel.send(item)
                sent += 1
            except SendFailed as failure:
                if failure.transient:
                    stopped, left = True, items[index:]
                    logs.get().warning("send failed, will retry", extra={"key": key, "reason": str(failure)})
                    break
                deactivate = deactivate or failure.user_gone
                # A permanent refusal will not change on retry: log it and move on.
                logs.get().error("send refused, dropped", extra={"key": key, "reason": str(failure)})
        remaining[seq] = left
    store.settle(key, claim, remaining, deactivate)
    return not stopped, sent


def http_call(session, url: str, payload: dict, timeout: tuple[float, float], params: dict | None = None):
    """POST JSON; network trouble becomes a transient ``SendFailed``. Returns (status, json or {})."""
    import requests

    try:
        response = session.post(url, json=payload, params=params, timeout=timeout)
    except requests.RequestException as error:
        # The exception text can carry the URL, and a Telegram URL carries the token.
        raise SendFailed(f"network error: {type(error).__name__}", transient=True) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    return response.status_code, body if isinstance(body, dict) else {}


class WebChannel:
    """The web chat: replies go back in the HTTP response, so 'sending' collects them."""

    name = "web"

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def needs_profile(self, conv: Conversation) -> bool:
        return False

    def fetch_profile(self, user_id: str) -> dict:
        return {}

    def render(self, replies: list[Reply], conv: Conversation, update: Update) -> list[dict]:
        return [reply.to_dict() for reply in replies]

    def send(self, item: dict) -> None:
        self.sent.append(item)
