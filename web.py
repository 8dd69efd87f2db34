"""The web chat: the third channel, for trying the bot with no platform account.

Same shape as fb.py and tg.py. The browser posts JSON to ``/api/chat`` and the
replies go back in the HTTP response, so "sending" is the relay collecting
them. The web never speaks unprompted: what came due while the page was closed
is shown when the person next writes.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from chat import Conversation, Reply, Unreadable, Update

CHANNEL = "web"
USER_ID_MAX = 128
TEXT_MAX = 4000
PAYLOAD_MAX = 1000


def bearer_ok(headers: Mapping[str, str], expected: str) -> bool:
    header = headers.get("Authorization", "")
    if not expected or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].strip().encode(), expected.encode())


class WebChat:
    name = CHANNEL
    ack = ""

    def __init__(self, settings) -> None:
        self.settings = settings

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        token = self.settings.secret("web_chat_token")
        return not token or bearer_ok(headers, token)

    def parse(self, body: Any) -> list[Update]:
        return [parse(body)]

    def needs_profile(self, conv: Conversation) -> bool:
        return False

    def fetch_profile(self, user_id: str) -> dict:
        return {}

    def render(self, replies: list[Reply], conv: Conversation, update: Update, short: Callable[[str], str]) -> list:
        return [reply.to_dict() for reply in replies]

    def send(self, item: dict) -> None:
        """Nothing to do: the relay hands what was sent back to the route, which answers with it."""

    def may_send_unprompted(self, conv: Conversation, now: float) -> bool:
        return False


def _check(ok: bool, reason: str) -> None:
    if not ok:
        raise Unreadable(reason)


def parse(body: Any) -> Update:
    """A web chat request as an Update; ``Unreadable`` says what is wrong with it."""
    _check(isinstance(body, dict), "expected a JSON object")
    user_id, text, payload = body.get("user_id"), body.get("text"), body.get("payload")
    locale, message_id = body.get("locale") or "", body.get("message_id") or uuid.uuid4().hex
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    _check(
        isinstance(user_id, str) and 0 < len(user_id) <= USER_ID_MAX and user_id.isprintable(),
        f"user_id: a printable string of 1-{USER_ID_MAX} characters",
    )
    _check((text is None) != (payload is None), "give exactly one of text or payload")
    _check(
        text is None or (isinstance(text, str) and bool(text.strip()) and len(text) <= TEXT_MAX),
        f"text: a non-empty string of at most {TEXT_MAX} characters",
    )
    _check(
        payload is None or (isinstance(payload, str) and 0 < len(payload) <= PAYLOAD_MAX),
        f"payload: a non-empty string of at most {PAYLOAD_MAX} characters",
    )
    _check(isinstance(locale, str) and len(locale) <= 16, "locale: a short string such as en or es_ES")
    _check(isinstance(message_id, str) and 1 <= len(message_id) <= 128, "message_id: at most 128 characters")
    first_name = body.get("first_name") or ""
    _check(isinstance(first_name, str) and len(first_name) <= 64, "first_name: a string of at most 64 characters")
    return Update(
        channel=CHANNEL,
        user_id=user_id,
        event_id=message_id,
        text=text or "",
        payload=payload or "",
        locale=locale,
        first_name=first_name.strip(),
    )
