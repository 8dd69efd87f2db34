"""The owner's side of handoffs: the open ones on the dashboard, an answer or an ending written there,
and what the scheduled job does for them (end those nobody wrote in for HANDOFF_IDLE_HOURS, make the
topic of one whose topic could not be made when it opened).

Each of them is an update of the learner's conversation delivered through the relay (an answer from
the dashboard is ``desk:<nonce of the form>``, an idle ending ``idle:<time of the last word>``), so a
form sent twice or a job run twice does it once.
"""

from __future__ import annotations

import html
import secrets
import time
from collections.abc import Callable

from chatbot.core import channels as registry
from chatbot.core import logs
from chatbot.core.text import plain_text
from chatbot.delivery import relay
from chatbot.delivery.channel import Channel
from chatbot.delivery.handoff import DESK_EVENT, DONE, IDLE_EVENT, TOPIC, Handoff, is_open
from chatbot.engine.skills import Skills
from chatbot.engine.types import Update
from chatbot.owner.status import ago
from chatbot.store.base import Backend

FIELDS = ["key", "profile.first_name", "delivery.handoff"]
OPEN = [("delivery.handoff.open", "==", True)]
MAX_ANSWER = 4000
# What the dashboard says after a form was sent, by the short code its address carries.
NOTES = {
    "off": "That conversation's channel is off here.",
    "closed": "That conversation is no longer handed to a person.",
    "empty": "Write an answer first.",
    "later": "Not sent yet: the platform did not take it. Send it again in a moment.",
    "sent": "Sent.",
    "ended": "Ended: they are back with the bot.",
    "again": "That form was sent already: what it said went out once. Write a new answer to say more.",
    "unreachable": "Not sent: their platform no longer lets anyone write to them (Messenger allows a "
    "person's answer for 7 days after their last message), or they blocked the bot.",
}


def open_handoffs(store: Backend) -> list[dict]:
    """Who is handed to a person now, longest waiting first."""
    found = []
    for row in store.scan(FIELDS, OPEN):
        key, handoff = str(row.get("key") or ""), row.get("delivery.handoff") or {}
        channel, _, _ = key.partition(":")
        if not key or channel not in registry.NAMES:
            continue
        found.append(
            {
                "key": key,
                "name": plain_text(str(row.get("profile.first_name") or "")) or "someone",
                "channel": channel,
                "since": float(handoff.get("since") or 0),
                "last_at": float(handoff.get("last_at") or 0),
                "answered": bool(handoff.get("answered_at")),
                "mode": handoff.get("mode", TOPIC),
            }
        )
    return sorted(found, key=lambda row: row["since"])


def act(
    store: Backend,
    handoff: Handoff,
    channels: Callable[[str], Channel | None],
    skills: Skills,
    key: str,
    nonce: str,
    *,
    text: str = "",
    end: bool = False,
    clock: Callable[[], float] = time.time,
    lease: float = relay.LEASE_SECONDS,
) -> str:
    """An answer (``text``) or an ending (``end``) from the dashboard, for the open handoff ``key``;
    a code of NOTES for the owner. Only an open handoff is acted on: a form names any key."""
    channel_name, _, user_id = key.partition(":")
    channel = channels(channel_name) if channel_name in registry.NAMES and user_id else None
    if channel is None:
        return "off"
    conv_doc = store.load(key)
    if conv_doc is None or not is_open(relay.read(key, conv_doc)[1]):
        return "closed"
    text = text.strip()[:MAX_ANSWER]
    if not end and not text:
        return "empty"
    event = f"{DESK_EVENT}{nonce}:{'end' if end else 'answer'}"
    update = Update(channel_name, user_id, event, text="" if end else text, payload=DONE if end else "", from_bot=True)
    result = relay.deliver(update, channel, store, skills, clock=clock, lease=lease, channels=channels, handoff=handoff)
    if not result.ok:
        return "later"
    if result.duplicate:
        return "again"
    # An answer the platform would not take now (Messenger's window, a blocked bot) is recorded and the
    # topic told; the owner at the dashboard is told too.
    return "unreachable" if result.unreachable else "ended" if end else "sent"


def scheduled(
    store: Backend,
    handoff: Handoff,
    channels: Callable[[str], Channel | None],
    skills: Skills,
    now: float,
    *,
    clock: Callable[[], float] = time.time,
    lease: float = relay.LEASE_SECONDS,
) -> dict:
    """The scheduled job's part: end the handoffs nobody wrote in for HANDOFF_IDLE_HOURS (the learner
    is told, the topic closed), and make the topics that could not be made when their handoff opened."""
    report = {"open": 0, "ended": 0, "topics": 0, "failed": 0}
    for row in store.scan(FIELDS, OPEN):
        key, record = str(row.get("key") or ""), row.get("delivery.handoff") or {}
        channel_name, _, user_id = key.partition(":")
        channel = channels(channel_name) if channel_name in registry.NAMES else None
        if channel is None:
            continue
        report["open"] += 1
        last = float(record.get("last_at") or record.get("since") or now)
        if now - last >= handoff.idle_seconds:
            update = Update(channel_name, user_id, f"{IDLE_EVENT}{int(last)}", payload=DONE, from_bot=True)
            kind = "ended"
        elif record.get("mode") == TOPIC and not record.get("topic_open") and record.get("event"):
            update = Update(channel_name, user_id, str(record["event"]))  # the request again: its topic is made
            kind = "topics"
        else:
            continue
        try:
            result = relay.deliver(
                update, channel, store, skills, clock=clock, lease=lease, channels=channels, handoff=handoff
            )
        except Exception as error:
            logs.get().warning("handoff not handled", extra={"key": key, "error": type(error).__name__})
            report["failed"] += 1
            continue
        report[kind if result.ok else "failed"] += 1
    return report


def nonce() -> str:
    return secrets.token_urlsafe(12)


def section(rows: list[dict], now: float, note: str = "") -> str:
    """The dashboard's list of open handoffs, each with a form to answer or end it (HTML, escaped);
    ``note``: a code of NOTES, what the last form did."""
    said = f'<p role="status">{html.escape(NOTES[note])}</p>' if note in NOTES else ""
    if not rows:
        return (
            f'<section id="handoffs"><h2>Handed to a person</h2>{said}<p>Nobody is waiting for a person.</p></section>'
        )
    lines = []
    for row in rows:
        title = registry.info(row["channel"]).title
        form = (
            '<form method="post" action="/admin/handoffs">'
            f'<input type="hidden" name="key" value="{html.escape(row["key"], quote=True)}">'
            f'<input type="hidden" name="nonce" value="{nonce()}">'
            f'<input name="text" maxlength="{MAX_ANSWER}" aria-label="Answer to {html.escape(row["name"])}" '
            'placeholder="Answer"> <button name="do" value="answer">Send</button> '
            '<button name="do" value="end">End</button></form>'
        )
        where = "Page Inbox" if row["mode"] != TOPIC else "Telegram topic"
        lines.append(
            f'<tr data-key="{html.escape(row["key"], quote=True)}"><td>{html.escape(row["name"])}</td>'
            f"<td>{html.escape(title)}</td><td>{html.escape(ago(now, row['since']))}</td>"
            f"<td>{'answered' if row['answered'] else 'waiting for a first answer'}</td>"
            f"<td>{where}</td><td>{form}</td></tr>"
        )
    return (
        f'<section id="handoffs"><h2>Handed to a person ({len(rows)})</h2>{said}'
        "<table><tr><th>who</th><th>channel</th><th>asked</th><th></th><th>answered in</th><th></th></tr>"
        f"{''.join(lines)}</table></section>"
    )
