"""Forgetting a person: the owner's command, the person's own "delete my data", and a
platform's data deletion callback (Meta's, in fb.py).

Each deletes the conversation document, its wake, and every record the person
filed (suggestions, broken-link reports) in one atomic write, and file a
receipt (what went, when; no user id) that ``GET /deletion?id=CODE`` shows.
In the chat, "delete my data" does the same through the relay, keeping only
the event ids a redelivery needs (see record.tombstone).

Meta's callback names the person by their app-scoped id, while Messenger
conversations are keyed by page-scoped ids. The ID Matching API
(``GET /{app-scoped id}/ids_for_pages``) turns one into the other when the
app and the page belong to the same business; without ``FB_APP_ID`` or that
link, the receipt says the request could not be matched.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable

from chatbot.core import logs
from chatbot.delivery import relay
from chatbot.store.base import FORGOTTEN, RECEIPTS, Backend, Change

CODE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_SIGNED_REQUEST = 4096  # Meta's are a few hundred bytes
GRAPH_TIMEOUT = (3.05, 8.0)


class Refused(ValueError):
    """A request this module will not act on, with the HTTP status that says why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def new_code() -> str:
    return secrets.token_urlsafe(12)


def summary(doc: dict | None, filed: dict[str, int]) -> dict:
    """What a deletion removes, in counts (no content): for the receipt and the owner's one line."""
    deleted: dict = {k: v for k, v in filed.items() if v}
    if doc is None or doc.get(FORGOTTEN):
        return deleted
    conv, record = relay.read("x:x", doc)
    deleted["conversation"] = 1
    if conv.progress or conv.dropped:
        deleted["skills"] = len(conv.progress) + len(conv.dropped)
    if conv.wake or conv.reminder.get("enabled"):
        deleted["reminder"] = 1
    if record.transcript:
        deleted["transcript"] = len(record.transcript)
    if record.handoff or record.turns:
        deleted["handoff"] = 1  # a conversation with a person: its record and the last messages kept for it
    return deleted


def kept_of(doc: dict | None, now: float) -> dict | None:
    """What stays of a forgotten conversation for a couple of days: its event ids only (a tombstone),
    so that a platform's redelivery still in flight is recognised and does not recreate the person.
    Nothing they said, no reply still to send."""
    if doc is None:
        return None
    if doc.get(FORGOTTEN):
        return doc
    return relay.tombstone(relay.read("x:x", doc)[1], now)


def forget(
    store: Backend,
    keys: list[str],
    requested_by: str,
    *,
    now: float | None = None,
    always: bool = True,
    topics: Callable[[dict], None] | None = None,
    **about,
) -> dict:
    """Delete everything kept about each of ``keys`` (one person's conversations). Returns the
    receipt: {"id", "deleted": counts, ...}. It is stored for ``GET /deletion`` with the last
    deletion, in the same write, when anything was deleted or ``always``. ``topics`` is told of each
    handoff the person had (its record), once deleted: their topic in the owner's inbox is closed."""
    now = time.time() if now is None else now
    handed: list[dict] = []
    record: dict = {"id": new_code(), "channel": keys[0].split(":", 1)[0], "requested_by": requested_by}
    record.update(about, created_at=now, deleted={})
    for n, key in enumerate(keys):
        filed, last = store.filed_by(key), n == len(keys) - 1

        def step(doc: dict | None, filed=filed, last=last):
            found = summary(doc, filed)
            totals = {name: record["deleted"].get(name, 0) + found.get(name, 0) for name in record["deleted"] | found}
            keep = last and (always or totals)
            if not found and not keep:
                return None, (totals, {})
            receipts = [(RECEIPTS, record | {"deleted": totals})] if keep else []
            return Change(kept_of(doc, now), filed=receipts, erase=True), (totals, handoff_of(doc))

        record["deleted"], handoff = store.transact(key, step)
        if handoff:
            handed.append(handoff)
    for handoff in handed:
        try:
            if topics is not None:
                topics(handoff)
        except Exception as error:  # the person is forgotten; the owner's topic stays open, the log says so
            logs.get().warning("could not close a forgotten person's topic", extra={"error": type(error).__name__})
    return record


def handoff_of(doc: dict | None) -> dict:
    """The handoff record of a conversation about to be forgotten (its topic, to be closed)."""
    if doc is None or doc.get(FORGOTTEN):
        return {}
    return relay.read("x:x", doc)[1].handoff
