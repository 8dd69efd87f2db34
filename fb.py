"""Facebook Messenger: verify, parse, render within Messenger's limits, send.

Webhook bodies are verified on their raw bytes (``X-Hub-Signature-256``),
parsed into neutral ``Update``s, and replies are rendered into Send API
request bodies that never exceed a limit: long text is split at word
boundaries, too many buttons or cards become several messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request

from chatbot.core import channels, logs, outbound
from chatbot.core.health import Check
from chatbot.core.outbound import SendFailed
from chatbot.core.settings import SecretError
from chatbot.core.stamps import outside_time
from chatbot.core.text import shorten, split_text
from chatbot.delivery.handoff import INBOX_EVENT, INBOX_RETURNED, INBOX_TOOK
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Button, Card, Reply, Update
from chatbot.owner import erasure
from chatbot.owner.erasure import Refused
from chatbot.store.base import RECEIPTS, Backend

CHANNEL = "messenger"
LIMIT = channels.MESSENGER.limits  # the Send API's
TIMEOUT = outbound.DEFAULT_TIMEOUT
WINDOW_SECONDS = 24 * 3600  # standard messaging: a page may write within 24 h of the person's last message
# A person's answer (never the bot's) may go out up to 7 days after it, tagged HUMAN_AGENT.
HUMAN_AGENT_SECONDS = 7 * 24 * 3600
PAGE_INBOX_APP_ID = "263902037430900"  # Meta's Page Inbox, for the Handover Protocol
HANDOVERS = {"pass_thread_control": INBOX_RETURNED, "take_thread_control": INBOX_TOOK}  # webhook event: what it means
PROFILE_TIMEOUT = (2.0, 3.0)  # the name is a nicety; never let it eat the window
TRANSIENT_CODES = {1, 2, 4, 17, 32, 613, 80006}  # unknown/service/rate-limit errors worth a retry
USER_GONE_CODES = {551}  # "This person isn't available right now"
PAGE_ACCESS_REFUSED = 190  # OAuthException: the page token expired, was revoked or is not valid, on any call
TOKEN_SUBCODES = {  # what Meta's error_subcode says of a refused token
    458: "the app was removed",
    460: "the password of the person who made it changed",
    463: "it expired",
    467: "it is no longer valid: revoked, or its user logged out",
}
MORE = "…"
GET_STARTED = "GET_STARTED"  # the payload of the Get Started button (page_profile below sets it)


def verify_signature(raw: bytes, header: str | None, app_secret: str) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC of the raw body>``; SHA-1 alone is not enough."""
    if not header or not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    # As bytes: compare_digest refuses str with characters beyond ASCII (a TypeError, a 500).
    given = header[len("sha256=") :].strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected.encode(), given)


def handshake(args, verify_token: str) -> str | None:
    """The challenge to echo if this is our subscription handshake, else None."""
    if args.get("hub.mode") != "subscribe" or not verify_token:
        return None
    if not hmac.compare_digest(args.get("hub.verify_token", "").encode(), verify_token.encode()):
        return None
    return args.get("hub.challenge", "")


def parse(body: Any) -> list[Update]:
    """Every user event in a webhook body, in order; echoes, reads and the rest are skipped."""
    updates: list[Update] = []
    if not isinstance(body, dict):
        logs.get().info("messenger body is not an object")
        return updates
    if body.get("object") != "page":
        logs.get().info("messenger body is not a page event", extra={"object": str(body.get("object"))[:40]})
        return updates
    entries = body.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        events = entry.get("messaging") if isinstance(entry, dict) else None
        for event in events if isinstance(events, list) else []:
            update = parse_event(event) if isinstance(event, dict) else None
            if update is not None:
                updates.append(update)
    return updates


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def as_object(value) -> dict:
    return value if isinstance(value, dict) else {}


def parse_event(event: dict) -> Update | None:
    sender = as_object(event.get("sender"))
    user_id = _text(sender.get("id")) or (str(sender.get("id")) if isinstance(sender.get("id"), int) else "")
    timestamp = outside_time(event.get("timestamp"), per_second=1000)
    if not user_id:
        return None
    message, postback = event.get("message"), event.get("postback")
    base: dict[str, Any] = {"channel": CHANNEL, "user_id": user_id, "timestamp": timestamp}
    for kind, meaning in HANDOVERS.items():
        # The Page Inbox gave the conversation back to this app (pass_thread_control), or took it from
        # it (take_thread_control): the owner's side of a handoff, never the person's own message.
        if isinstance(event.get(kind), dict):
            event_id = f"{INBOX_EVENT}{user_id}:{timestamp}:{kind}"
            return Update(event_id=event_id, payload=meaning, from_bot=True, **base)
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None
        mid = _text(message.get("mid"))
        if not mid:
            return None
        quick = message.get("quick_reply")
        if isinstance(quick, dict) and _text(quick.get("payload")):
            return Update(event_id=mid, payload=quick["payload"], **base)
        if _text(message.get("text")).strip():
            return Update(event_id=mid, text=message["text"], **base)
        attachments = message.get("attachments")
        kind = "sticker" if message.get("sticker_id") else "attachment"
        if isinstance(attachments, list) and attachments and isinstance(attachments[0], dict):
            kind = _text(attachments[0].get("type")) or kind
        return Update(event_id=mid, attachment=kind, **base)
    if isinstance(postback, dict):
        payload = _text(postback.get("payload"))
        # Older postbacks carry no mid: sender, time and payload identify a redelivery.
        event_id = _text(postback.get("mid")) or f"postback:{user_id}:{timestamp}:{payload[:100]}"
        title = _text(postback.get("title")) if not payload else ""
        return Update(event_id=event_id, payload=payload, text=title, opens=payload == GET_STARTED, **base)
    return None  # read, delivery, reaction, optin, referral...


# ---------------------------------------------------------------- rendering


def absolute_url(url: str, public_url: str) -> str:
    if url.startswith("https://"):
        return url
    if url.startswith("/") and public_url.startswith("https://"):
        return public_url + url
    return ""


def render_button(button: Button) -> dict:
    title = shorten(button.title, LIMIT["button_title"])
    if button.url:
        return {"type": "web_url", "url": button.url, "title": title}
    return {"type": "postback", "title": title, "payload": button.payload[: LIMIT["payload"]]}


def render_quick_replies(buttons: list[Button]) -> list[dict]:
    return [
        {
            "content_type": "text",
            "title": shorten(b.title, LIMIT["quick_reply_title"]),
            "payload": b.payload[: LIMIT["payload"]],
        }
        for b in buttons
        if b.payload
    ]


def button_template(text: str, buttons: list[Button]) -> dict:
    return {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "button", "text": text, "buttons": [render_button(b) for b in buttons]},
        }
    }


def render_element(card: Card, public_url: str) -> dict:
    element: dict[str, Any] = {"title": shorten(card.title, LIMIT["card_title"])}
    if card.subtitle:
        element["subtitle"] = shorten(card.subtitle, LIMIT["card_subtitle"])
    image = absolute_url(card.image_url, public_url)
    if image:
        element["image_url"] = image
    if card.url:
        element["default_action"] = {"type": "web_url", "url": card.url}
    if card.buttons:
        element["buttons"] = [render_button(b) for b in card.buttons[: LIMIT["buttons"]]]
    return element


def chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def render_reply(reply: Reply, public_url: str = "") -> list[dict]:
    """One neutral reply as Send API ``message`` objects, each within Messenger's limits."""
    messages: list[dict] = []
    texts = split_text(reply.text, LIMIT["text"])
    if reply.buttons:
        # The text that carries buttons is a button template: at most 640 characters.
        last = split_text(texts.pop(), LIMIT["button_text"]) if texts else [MORE]
        texts += last[:-1]
        messages += [{"text": t} for t in texts]
        groups = chunks(reply.buttons, LIMIT["buttons"])
        messages.append(button_template(last[-1], groups[0]))
        messages += [button_template(MORE, group) for group in groups[1:]]
    else:
        messages += [{"text": t} for t in texts]
    for group in chunks(reply.cards, LIMIT["cards"]):
        payload: dict[str, Any] = {"template_type": "generic", "image_aspect_ratio": "horizontal"}
        payload["elements"] = [render_element(card, public_url) for card in group]
        messages.append({"attachment": {"type": "template", "payload": payload}})
    quick = reply.quick_replies
    if len(quick) > LIMIT["quick_replies"]:
        # More choices than quick replies allow: the rest become buttons rather than vanish.
        keep = LIMIT["quick_replies"]
        messages += [button_template(MORE, group) for group in chunks(quick[keep:], LIMIT["buttons"])]
        quick = quick[:keep]
    if quick:
        if not messages:
            messages.append({"text": MORE})
        messages[-1]["quick_replies"] = render_quick_replies(quick)
    return messages


class Messenger:
    """Messenger for one page: holds the HTTP session and the settings it needs."""

    name = CHANNEL
    ack = "EVENT_RECEIVED\n"
    unprompted_window: float | None = WINDOW_SECONDS
    keeps_transcript = False  # Messenger keeps the history itself

    def __init__(self, settings, session=None):
        self.settings = settings
        self.graph = settings.fb_graph_url
        self.session = session or outbound.new_session()
        self._noticed: Check | None = None  # the page token Meta refused while sending, for the owner

    @property
    def token(self) -> str:
        return self.settings.secret("fb_page_access_token")

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        return verify_signature(raw, headers.get("X-Hub-Signature-256"), self.settings.secret("fb_app_secret"))

    def parse(self, body: Any) -> list[Update]:
        return parse(body)

    def may_send_unprompted(self, conv: Conversation, now: float) -> bool:
        """Only inside the 24-hour window that the person's last message opened."""
        return conv.active and now - conv.last_message_at < WINDOW_SECONDS

    def needs_profile(self, conv: Conversation) -> bool:
        return not conv.profile.get("looked_up")

    def fetch_profile(self, user_id: str) -> dict:
        """First name (and locale when the app may read it); any failure just means no name."""
        # locale and timezone need permissions a page may not have: when refused, ask for less, so
        # that a page without the time zone still greets people in their language.
        for fields in ("first_name,locale,timezone", "first_name,locale", "first_name"):
            try:
                status, data = outbound.request(
                    self.session,
                    "GET",
                    f"{self.graph}/{user_id}",
                    params={"fields": fields, "access_token": self.token},
                    timeout=PROFILE_TIMEOUT,
                )
            except SendFailed as error:
                logs.get().warning("profile lookup failed", extra={"error": str(error)})
                return {}
            if status == 200:
                profile: dict[str, Any] = {"first_name": _text(data.get("first_name"))[:64]}
                if _text(data.get("locale")):
                    profile["locale"] = data["locale"]
                if isinstance(data.get("timezone"), int | float) and -12 <= data["timezone"] <= 14:
                    profile["timezone"] = float(data["timezone"])
                return profile
            logs.get().info("profile lookup refused", extra={"status": status, "fields": fields})
        return {}

    def render(
        self, replies: list[Reply], conv: Conversation, update: Update, short: Callable[[str], str]
    ) -> list[dict]:
        bodies = []
        for reply in replies:
            for message in render_reply(reply, self.settings.public_url):
                # RESPONSE answers a message the person sent; UPDATE is the bot writing first (a reminder).
                kind = "UPDATE" if update.from_bot else "RESPONSE"
                bodies.append({"recipient": {"id": conv.user_id}, "messaging_type": kind, "message": message})
        return bodies

    def render_human(self, replies: list[Reply], conv: Conversation, now: float) -> list[dict] | None:
        """A person's answer: a normal reply within 24 h of the person's last message; up to 7 days,
        tagged HUMAN_AGENT (which Meta allows only for what a person wrote); after that, None."""
        age = now - conv.last_message_at
        if age >= HUMAN_AGENT_SECONDS:
            return None
        kind = {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"} if age >= WINDOW_SECONDS else {}
        return [
            {"recipient": {"id": conv.user_id}, "messaging_type": "RESPONSE", "message": message} | kind
            for reply in replies
            for message in render_reply(reply, self.settings.public_url)
        ]

    def handing_over(self, conv: Conversation, to_inbox: bool, note: str) -> dict:
        """Pass the conversation to the Page Inbox, or take it back (the Handover Protocol)."""
        if to_inbox:
            body = {"recipient": {"id": conv.user_id}, "target_app_id": PAGE_INBOX_APP_ID, "metadata": note[:1000]}
            return {"handover": "pass_thread_control", "body": body}
        return {"handover": "take_thread_control", "body": {"recipient": {"id": conv.user_id}}}

    def send(self, item: dict) -> None:
        path, body = (f"me/{item['handover']}", item["body"]) if "handover" in item else ("me/messages", item)
        status, body = outbound.post_json(
            self.session, f"{self.graph}/{path}", body, TIMEOUT, params={"access_token": self.token}
        )
        if status == 200:
            return
        error = as_object(body.get("error"))
        code = error.get("code")
        reason = refusal(status, error)
        if code == PAGE_ACCESS_REFUSED:  # every send will fail the same way: the owner hears it (noticed)
            self._noticed = page_token_check(reason)
        # A refused page token is the owner's to fix, not the person's fault: their replies stay queued
        # (Meta keeps redelivering) and go out once the token is replaced, rather than being dropped.
        transient = status >= 500 or status == 429 or bool(error.get("is_transient")) or code in TRANSIENT_CODES
        transient = transient or code == PAGE_ACCESS_REFUSED
        raise SendFailed(reason, transient=transient, user_gone=code in USER_GONE_CODES, status=status)

    def setup(self, skills) -> list[str]:
        """The page's Get Started button, greeting, menu and ice breakers, where they differ."""
        return setup(self, skills)

    def patient(self) -> Messenger:
        return self  # Graph calls of the owner's commands wait out rate limits themselves (graph_call)

    def diagnose(self) -> list[Check]:
        """The page token, and whether the app receives the page's messages and postbacks."""
        try:
            me = graph_get(self, "me", "id,name")
        except (SendFailed, SecretError) as error:
            return [page_token_check(str(error), unsure=isinstance(error, SendFailed) and error.transient)]
        checks = [Check(True, "messenger page token", f"the page is {me.get('name', me.get('id', '?'))}")]
        wanted = {"messages", "messaging_postbacks"}
        if self.settings.handoff_messenger.strip().lower() == "inbox":
            wanted.add("messaging_handovers")  # the Page Inbox giving a conversation back (HANDOFF_MESSENGER)
        try:
            apps = graph_get(self, "me/subscribed_apps").get("data") or []
        except SendFailed as error:
            detail = f"could not read the page's subscribed apps: {error}"
            return [*checks, Check(False, "messenger subscription", detail, unsure=error.transient)]
        app_id = self.settings.fb_app_id  # when known, only this app's subscription counts
        ours = [app for app in apps if isinstance(app, dict) and (not app_id or str(app.get("id")) == app_id)]
        fields = {field for app in ours for field in app.get("subscribed_fields") or []}
        if wanted <= fields:
            checks.append(Check(True, "messenger subscription", f"the app receives {', '.join(sorted(wanted))}"))
        else:
            missing = ", ".join(sorted(wanted - fields))
            fix = "subscribe the app to the page (Meta dashboard → Messenger → Webhooks, or POST /me/subscribed_apps)"
            others = [str(app.get("id")) for app in apps if isinstance(app, dict) and app not in ours]
            if others and not ours:  # other apps are subscribed: FB_APP_ID may name the wrong one
                fix += f"; the page's subscribed apps are {', '.join(others)}, FB_APP_ID is {app_id}"
            checks.append(Check(False, "messenger subscription", f"not subscribed to {missing}: {fix}"))
        return checks + [privacy_check(self.settings)]

    def noticed(self) -> list[Check]:
        found, self._noticed = self._noticed, None
        return [found] if found else []


def make(settings, *, session=None, sleep=None) -> Messenger:
    return Messenger(settings, session)


def graph_get(page: Messenger, path: str, fields: str = "") -> dict:
    params = {"access_token": page.token} | ({"fields": fields} if fields else {})
    status, body = outbound.request(page.session, "GET", f"{page.graph}/{path}", params=params)
    if status != 200:
        error = as_object(body.get("error"))
        # Meta did not answer (a 5xx, a rate limit, an error it marks transient): nothing is known of the token.
        transient = status >= 500 or status == 429 or bool(error.get("is_transient"))
        transient = transient or error.get("code") in TRANSIENT_CODES
        raise SendFailed(refusal(status, error), transient, status=status)
    return body


def refusal(status: int, error: dict) -> str:
    """A Graph error in Meta's own words, with its code and subcode (and what a refused token's means)."""
    code, subcode = error.get("code"), error.get("error_subcode")
    said = f"graph {status} code={code}" + (f" subcode={subcode}" if subcode is not None else "")
    if code == PAGE_ACCESS_REFUSED:
        why = TOKEN_SUBCODES.get(subcode, "it is not valid") if isinstance(subcode, int) else "it is not valid"
        said += f" (Meta refused the page token: {why})"
    return f"{said}: {str(error.get('message', ''))[:200]}"


def page_token_check(reason: str, unsure: bool = False) -> Check:
    """The page token check, failed: what doctor prints, the dashboard shows and the owner is told,
    whether the check or a send found it. ``unsure``: Meta did not answer (a 5xx, a transient error,
    the network), which says nothing about the token."""
    if unsure:
        return Check(False, "messenger page token", f"{reason} — Meta did not answer: try again later", unsure=True)
    fix = (
        "generate a page access token for the page (Meta dashboard → Messenger → Access tokens) "
        "and put it in FB_PAGE_ACCESS_TOKEN"
    )
    return Check(False, "messenger page token", f"{reason} — fix: {fix}")


def privacy_check(settings) -> Check:
    """What Meta's App Review reads: the privacy page's contact, and whether deletion requests can be matched."""
    missing = [
        f"{name} ({why})"
        for name, why in (
            ("OWNER_CONTACT", "/privacy says how to reach you"),
            ("OWNER_NAME", "/privacy says who runs the bot"),
            ("FB_APP_ID", "Meta's data deletion requests name people by app-scoped id; it matches them"),
        )
        if not getattr(settings, name.lower())
    ]
    base = settings.public_url or "PUBLIC_URL"
    detail = f"{base}/privacy and {base}/webhook/messenger/data-deletion are ready for App Review"
    return Check(True, "privacy", detail + (f"; before going live set {'; '.join(missing)}" if missing else ""))


# ---------------------------------------------------------------- page setup (CLI)

PROFILE_FIELDS = ("get_started", "greeting", "persistent_menu", "ice_breakers")
# Messenger names locales by language and region; ours are languages.
MESSENGER_LOCALES = {
    "es": ["es_ES", "es_LA"],
    "pt": ["pt_BR", "pt_PT"],
    "fr": ["fr_FR", "fr_CA"],
    "de": ["de_DE"],
    "it": ["it_IT"],
}


def wanted_profile(skills) -> dict:
    """The page profile skills.json asks for, in the Messenger Profile API's shape."""
    spec = skills.data["bot"].get("messenger_profile", {})
    locales = [("default", skills.default_locale)]
    for locale in skills.locales:
        if locale != skills.default_locale:
            locales += [(name, locale) for name in MESSENGER_LOCALES.get(locale, [])]
    profile: dict = {"get_started": {"payload": GET_STARTED}}
    if "greeting" in spec:
        profile["greeting"] = [{"locale": name, "text": skills.text(spec["greeting"], loc)} for name, loc in locales]
    if "persistent_menu" in spec:
        profile["persistent_menu"] = [
            {
                "locale": name,
                "composer_input_disabled": False,
                "call_to_actions": [
                    {"type": "postback", "title": skills.text(item["title"], loc), "payload": item["payload"]}
                    for item in spec["persistent_menu"]
                ],
            }
            for name, loc in locales
        ]
    if "ice_breakers" in spec:
        profile["ice_breakers"] = [
            {
                "locale": name,
                "call_to_actions": [
                    {"question": skills.text(item["question"], loc), "payload": item["payload"]}
                    for item in spec["ice_breakers"]
                ],
            }
            for name, loc in locales
        ]
    return profile


def setup(page: Messenger, skills, attempts: int = 5, sleep=time.sleep) -> list[str]:
    """Set what differs from ``wanted_profile``; nothing when the page is already right."""
    url = f"{page.graph}/me/messenger_profile"
    current = graph_call(page, "GET", url, {"fields": ",".join(PROFILE_FIELDS)}, None, attempts, sleep)
    current = (current.get("data") or [{}])[0]
    changes = {k: v for k, v in wanted_profile(skills).items() if current.get(k) != v}
    if changes:
        graph_call(page, "POST", url, {}, changes, attempts, sleep)
    return sorted(changes)


def graph_call(page: Messenger, method: str, url: str, params: dict, body: dict | None, attempts: int, sleep) -> dict:
    """A Graph call for the CLI: rate limits and transient errors are waited out, with backoff."""
    failure = SendFailed("no attempt made", transient=True)
    for attempt in range(attempts):
        try:
            status, data = outbound.request(
                page.session, method, url, params=params | {"access_token": page.token}, json=body, timeout=TIMEOUT
            )
        except SendFailed as error:
            failure = error
        else:
            if status == 200:
                return data
            refusal = as_object(data.get("error"))
            reason = f"graph {status} code={refusal.get('code')}: {refusal.get('message', '')}"
            transient = status >= 500 or status == 429 or refusal.get("code") in TRANSIENT_CODES
            failure = SendFailed(reason, transient=transient, status=status)
            if not transient:
                raise failure
        sleep(min(60, 2**attempt))
    raise failure


# ---------------------------------------------------------------- Meta's data deletion callback

MAX_SIGNED_REQUEST = 4096  # Meta's are a few hundred bytes
MAX_DELETION_BYTES = 8 * 1024  # a data deletion request is one signed_request of a few hundred bytes
GRAPH_TIMEOUT = (3.05, 8.0)


def canonical(raw: bytes) -> str:
    """base64url without padding: the one way Meta writes a signed request's parts."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64(part: str) -> bytes:
    return base64.b64decode(part + "=" * (-len(part) % 4), altchars=b"-_", validate=True)


MAX_REQUEST_AGE = 3600  # Meta calls as the person removes the app: an older request is a recording
MAX_CLOCK_SKEW = 300


def request_code(value: str, app_secret: str) -> str:
    """The confirmation code of one signed request: the same for the same request (a replay finds the
    first receipt), unguessable without the app secret (96 bits, like erasure.new_code)."""
    digest = hmac.new(app_secret.encode(), b"meta deletion " + value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def parse_signed_request(value: str, app_secret: str, now: float | None = None) -> dict:
    """Meta's ``signed_request``: base64url(signature) "." base64url(JSON payload), the signature
    an HMAC-SHA256 of the payload part with the app secret, ``issued_at`` within the last hour.
    Malformed: 400; forged or stale: 403."""
    if not value or len(value) > MAX_SIGNED_REQUEST or value.count(".") != 1:
        raise Refused(400, "signed_request must be <signature>.<payload>")
    signature_part, payload_part = value.split(".")
    try:
        signature = _b64(signature_part)
        payload_bytes = _b64(payload_part)
    except (binascii.Error, ValueError):
        raise Refused(400, "signed_request is not base64url") from None
    expected = hmac.new(app_secret.encode(), payload_part.encode(), hashlib.sha256).digest()
    if not app_secret or not hmac.compare_digest(expected, signature):
        raise Refused(403, "signature does not match")
    if not hmac.compare_digest(signature_part.encode(), canonical(signature).encode()):
        # The same signature written another way (padding, the +/ alphabet, spare bits in its last
        # character) would be a new request to the replay check: Meta writes it one way only.
        raise Refused(400, "the signature is not in base64url without padding")
    try:
        payload = json.loads(payload_bytes)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refused(400, "payload is not JSON") from None
    if not isinstance(payload, dict):
        raise Refused(400, "payload is not an object")
    if str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        raise Refused(400, "algorithm must be HMAC-SHA256")
    user_id = payload.get("user_id")
    if not isinstance(user_id, str | int) or not re.fullmatch(r"\d{1,32}", str(user_id), re.ASCII):
        raise Refused(400, "user_id is missing")
    issued = payload.get("issued_at")
    if not isinstance(issued, int) or isinstance(issued, bool):
        raise Refused(400, "issued_at is missing")
    now = time.time() if now is None else now
    if not now - MAX_REQUEST_AGE <= issued <= now + MAX_CLOCK_SKEW:
        raise Refused(403, "signed_request is not recent (issued_at)")
    return payload | {"user_id": str(user_id)}


def page_scoped_ids(page, app_id: str, app_scoped_id: str) -> tuple[list[str], str]:
    """The page-scoped ids Meta links to an app-scoped id, and why none when it cannot say.
    A transient failure raises SendFailed (the callback answers 503 and Meta asks again)."""
    if not app_id:
        return [], "FB_APP_ID is not set, so the app-scoped id could not be matched to this page"
    secret = page.settings.secret("fb_app_secret")
    token = f"{app_id}|{secret}"
    proof = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
    status, body = outbound.request(
        page.session,
        "GET",
        f"{page.graph}/{app_scoped_id}/ids_for_pages",
        params={"access_token": token, "appsecret_proof": proof, "limit": 100},
        timeout=GRAPH_TIMEOUT,
    )
    if status >= 500 or status == 429:
        raise SendFailed(f"ids_for_pages: HTTP {status}", transient=True, status=status)
    if status != 200:
        error = as_object(body.get("error"))
        code = error.get("code", status)
        reason = f"Meta did not match the id (code {code}): the app and the page must belong to one business"
        logs.get().warning("id matching refused", extra={"status": status, "code": error.get("code")})
        return [], reason
    listed = body.get("data")
    data = listed if isinstance(listed, list) else []
    found = [
        str(item["id"]) for item in data if isinstance(item, dict) and re.fullmatch(r"\d{1,32}", str(item.get("id")))
    ]
    return found, "" if found else "Meta knows no page-scoped id for this person"


def meta_deletion(
    store: Backend, page, app_id: str, app_scoped_id: str, now: float | None = None, code: str = "", topics=None
) -> dict:
    """Forget every Messenger conversation of the person Meta names; one receipt for all of them
    (under ``code`` when given: request_code's, so that a replay finds it). ``topics``: told of each
    handoff of theirs, to close its topic in the owner's inbox (Handoff.forgotten_topic)."""
    psids, reason = page_scoped_ids(page, app_id, app_scoped_id)
    # The id Meta sends is tried as it is too: a bot whose owner tests the callback with a
    # page-scoped id is served, and an app-scoped id never names another person's conversation.
    keys = [f"messenger:{user_id}" for user_id in dict.fromkeys([*psids, app_scoped_id])]
    note = "" if psids else reason
    code = code or erasure.new_code()  # the receipt's code: the request's own when it has one
    return erasure.forget(store, keys, "meta", now=now, matched=len(psids), note=note, id=code, topics=topics)


def routes(services) -> Blueprint:
    """The subscription handshake (``GET /webhook/messenger``) and Meta's data deletion callback."""
    bp = Blueprint("messenger", __name__)

    @bp.get("/webhook/messenger")
    def messenger_handshake():
        if services.channels.get(CHANNEL) is None:
            return Response("messenger is off\n", status=404, mimetype="text/plain")
        challenge = handshake(request.args, services.settings.secret("fb_verify_token"))
        if challenge is None:
            return Response("forbidden\n", status=403, mimetype="text/plain")
        return Response(challenge, status=200, mimetype="text/plain")

    @bp.post("/webhook/messenger/data-deletion")
    def data_deletion():
        """Meta's data deletion request callback: verify, forget, answer the status URL and code."""
        page = services.channels.get(CHANNEL)
        if page is None or services.store is None:
            return Response("messenger is off\n", status=404, mimetype="text/plain")
        if (request.content_length or 0) > MAX_DELETION_BYTES:
            return Response("a data deletion request is a few hundred bytes\n", status=413, mimetype="text/plain")
        base = services.settings.public_url or request.host_url.rstrip("/")
        try:
            value, secret = request.form.get("signed_request", ""), services.settings.secret("fb_app_secret")
            payload = parse_signed_request(value, secret, now=services.clock())
            code = request_code(value, secret)
            if services.store.find(RECEIPTS, code):  # this very request was done: a replay, or Meta asking again
                logs.get().info("data deletion request seen before", extra={"code": code})
                return jsonify(url=f"{base}/deletion?id={code}", confirmation_code=code)
            receipt = meta_deletion(
                services.store,
                page,
                services.settings.fb_app_id,
                payload["user_id"],
                now=services.clock(),
                code=code,
                topics=services.handoff.forgotten_topic,
            )
        except Refused as refused:
            logs.get().warning("data deletion request refused", extra={"reason": str(refused)})
            return Response(f"{refused}\n", status=refused.status, mimetype="text/plain")
        except Exception as error:  # Meta or the store unreachable: nothing recorded, Meta may ask again
            logs.get().warning("data deletion failed", extra={"error": f"{type(error).__name__}: {str(error)[:200]}"})
            return Response("retry later\n", status=503, mimetype="text/plain")
        logs.get().info("data deletion done", extra={"code": receipt["id"], "deleted": receipt["deleted"]})
        return jsonify(url=f"{base}/deletion?id={receipt['id']}", confirmation_code=receipt["id"])

    return bp
