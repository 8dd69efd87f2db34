"""The web chat: the third channel, for trying the bot with no platform account.

Same shape as fb.py and tg.py. The browser posts JSON to ``/api/chat`` and the
replies go back in the HTTP response, so "sending" is the relay collecting
them. The web never speaks unprompted: what came due while the page was closed
is shown when the person next writes.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory

from chatbot.core import logs
from chatbot.core.bearer import bearer_ok
from chatbot.core.health import Check
from chatbot.core.stamps import outside_time
from chatbot.core.text import plain_text
from chatbot.delivery.record import DeliveryRecord
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Reply, Unreadable, Update
from chatbot.service.answers import answer
from chatbot.service.parts import Services
from chatbot.service.webhooks import Refused, receive
from chatbot.store.base import Change, Store

CHANNEL = "web"
COOKIE = "mentor_id"
IDENTITY_KEY_DOCUMENT = "settings:web-identity"  # the store document holding the signing key
COOKIE_MAX_AGE = 400 * 24 * 3600
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
NEW_PER_MINUTE_PER_ADDRESS = 20  # new web identities one address may get; a person needs one
NEW_PER_MINUTE = 300  # and all addresses together, per process
USER_ID_MAX = 128
TEXT_MAX = 4000
PAYLOAD_MAX = 1000
# The page runs its own script and style only, talks to this service only, shows cards' images.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' https:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_STRINGS = "web_page_"  # the strings of skills.json that are the page's own words
SENT_AT_SKEW = 30.0  # seconds a browser's clock may be off ours and its sent_at still be used


class WebChat:
    """The web chat as a channel: the replies go back in the HTTP response."""

    name = CHANNEL
    ack = ""
    unprompted_window: float | None = None  # never writes unprompted at all (may_send_unprompted)
    keeps_transcript = True  # a reloaded page gets its conversation back (GET /api/history)

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

    def render_human(self, replies: list[Reply], conv: Conversation, now: float) -> list[dict] | None:
        """A person's answer: kept in the transcript, which the page asks for every few seconds while a
        person has the conversation (GET /api/history)."""
        return [reply.to_dict() for reply in replies]

    def send(self, item: dict) -> None:
        """Nothing to do: the relay hands what was sent back to the route, which answers with it."""

    def may_send_unprompted(self, conv: Conversation, now: float) -> bool:
        return False

    def setup(self, skills) -> list[str]:
        return []  # nothing to set: the page is served by this service

    def diagnose(self) -> list[Check]:
        return []

    def noticed(self) -> list[Check]:
        return []  # the page asks; no platform answers back

    def patient(self) -> WebChat:
        return self


def make(settings, *, session=None, sleep=None) -> WebChat:
    return WebChat(settings)


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
    if user_id is None:
        user_id = "-"  # the page sends none: its conversation is the browser's signed identity (see app.py)
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
    offset = body.get("utc_offset_minutes")
    _check(
        offset is None or (isinstance(offset, int) and not isinstance(offset, bool) and -720 <= offset <= 840),
        "utc_offset_minutes: whole minutes from UTC, -720 to 840",
    )
    label = body.get("label") or ""
    _check(isinstance(label, str) and len(label) <= 100, "label: the button's title, at most 100 characters")
    first_name = body.get("first_name") or ""
    _check(isinstance(first_name, str) and len(first_name) <= 64, "first_name: a string of at most 64 characters")
    sent_at = body.get("sent_at")
    _check(
        sent_at is None or (isinstance(sent_at, int | float) and not isinstance(sent_at, bool)),
        "sent_at: the browser's time of the message, in milliseconds since 1970",
    )
    return Update(
        channel=CHANNEL,
        user_id=user_id,
        event_id=message_id,
        text=text or "",
        payload=payload or "",
        locale=locale,
        first_name=first_name.strip(),
        utc_offset=None if offset is None else round(offset / 15) * 0.25,
        label=plain_text(label) if payload else "",
        timestamp=sent_time(sent_at),
    )


def sent_time(sent_at: float | None, now: float | None = None) -> float:
    """When the person sent the message, as the page says (seconds), for telling what was on their
    screen then; 0 (unknown) when the browser's clock is more than SENT_AT_SKEW off ours."""
    if sent_at is None:
        return 0.0
    now = time.time() if now is None else now
    sent = outside_time(sent_at, per_second=1000)
    return min(sent, now) if sent and abs(sent - now) <= SENT_AT_SKEW else 0.0


def open_locally(remote_addr: str, host: str) -> bool:
    """Without a token the web chat answers only this machine: a loopback peer asking for a
    loopback host name (a public name reaching a loopback peer is a proxy or DNS rebinding)."""
    try:
        peer = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    bracketed = host.startswith("[")  # an IPv6 literal, [::1]:8080
    hostname = host[1 : host.find("]")] if bracketed else host.rsplit(":", 1)[0]
    return peer.is_loopback and hostname.lower() in LOCAL_HOSTS


class RateLimited(Exception):
    pass


class Identities:
    """Each browser's identity: a random id the server issues and signs (HMAC-SHA256), kept in an
    HttpOnly, SameSite cookie. A client cannot choose one, forge one, or read another's."""

    def __init__(self, key: Callable[[], bytes], clock: Callable[[], float] = time.monotonic):
        self._key = key  # read on first use: the signing key lives in the store, shared by every instance
        self._clock = clock
        self._lock = threading.Lock()
        self._issued: dict[str, list[float]] = {}

    def _sign(self, identity: str) -> str:
        return hmac.new(self._key(), identity.encode(), hashlib.sha256).hexdigest()[:32]

    def read(self, cookie: str | None) -> str | None:
        """The identity in a cookie we issued, or None for anything else."""
        identity, _, signature = (cookie or "").partition(".")
        if not identity or len(identity) > 64 or not signature:
            return None
        return identity if hmac.compare_digest(signature.encode(), self._sign(identity).encode()) else None

    def issue(self, address: str) -> tuple[str, str]:
        """A new identity and its cookie value; RateLimited when this address or everyone asks too often."""
        now = self._clock()
        with self._lock:
            for who in (address, "*"):
                self._issued[who] = [t for t in self._issued.get(who, []) if now - t < 60]
            if len(self._issued[address]) >= NEW_PER_MINUTE_PER_ADDRESS or len(self._issued["*"]) >= NEW_PER_MINUTE:
                raise RateLimited()
            self._issued[address].append(now)
            self._issued["*"].append(now)
            if len(self._issued) > 10_000:  # addresses not seen in the last minute are forgotten
                self._issued = {k: v for k, v in self._issued.items() if v and now - v[-1] < 60}
        identity = secrets.token_urlsafe(16)
        return identity, f"{identity}.{self._sign(identity)}"


def identity_key(store: Callable[[], Store]) -> Callable[[], bytes]:
    """The key that signs web identities: made once, kept in the store, shared by every instance.
    ``store`` gives the store when the key is first needed."""
    cached: list[bytes] = []

    def step(doc: dict | None):
        if doc and doc.get("key"):
            return None, doc["key"]
        key = secrets.token_hex(32)
        return Change({"key": key}), key

    def key() -> bytes:
        if not cached:
            cached.append(bytes.fromhex(store().transact(IDENTITY_KEY_DOCUMENT, step)))
        return cached[0]

    return key


# ---------------------------------------------------------------- the page and its JSON API


def routes(services: Services) -> Blueprint:
    """``GET /`` (the page), ``GET /api/history`` (what a reloaded page shows), ``POST /api/chat``."""
    bp = Blueprint("web", __name__, static_folder=None)
    identities = Identities(identity_key(services.backend))

    def refused() -> Response | None:
        """Off (404); or, without WEB_CHAT_TOKEN, asked from anywhere but this machine (403)."""
        if services.channels.get(CHANNEL) is None or services.store is None:
            return answer(CHANNEL, 404, "web chat is off")
        local = open_locally(logs.client_address(request), request.host)  # the client's address (logs.py)
        if not services.settings.secret("web_chat_token") and not local:
            return answer(CHANNEL, 403, "without WEB_CHAT_TOKEN the web chat answers only this machine (localhost)")
        return None

    @bp.get("/")
    def web_page():
        problem = refused()
        if problem:
            return Response(problem.get_json()["error"] + "\n", status=problem.status_code, mimetype="text/plain")
        page = send_from_directory(current_app.static_folder or "static", "index.html", max_age=0)
        page.headers["Content-Security-Policy"] = PAGE_POLICY
        token = services.settings.secret("web_chat_token")
        if token and not bearer_ok(request.headers, token):
            # The page itself holds nothing secret: it is served with 401 and asks for the token.
            page.status_code = 401
            page.headers["WWW-Authenticate"] = 'Bearer realm="web chat"'
        return page

    @bp.get("/api/history")
    def web_history():
        """What a reloaded page shows: this browser's last messages, and the languages it can pick."""
        problem = refused()
        if problem:
            return problem
        token = services.settings.secret("web_chat_token")
        if token and not bearer_ok(request.headers, token):
            return answer(CHANNEL, 401, "a bearer token is required")
        identity = identities.read(request.cookies.get(COOKIE))
        try:
            doc = services.store.load(f"{CHANNEL}:{identity}") if identity else None
        except Exception as error:
            logs.get().warning("history unavailable", extra={"error": type(error).__name__})
            doc = None  # the page starts afresh rather than not at all
        skills = services.skills
        strings = skills.data["strings"]
        languages = [{"code": code, "name": strings[code].get(f"lang_{code}", code)} for code in skills.locales]
        record = DeliveryRecord.from_doc(doc) if doc else DeliveryRecord()
        transcript = record.transcript
        # The language the conversation speaks, so the page's menu shows it (none yet: the page picks
        # from the browser's languages), and the page's own words in each language.
        profile = (doc or {}).get("profile") or {}
        spoken = profile.get("language") or profile.get("locale")
        language = skills.pick_locale(spoken) if spoken else None
        labels = {
            code: {key.removeprefix(PAGE_STRINGS): text for key, text in table.items() if key.startswith(PAGE_STRINGS)}
            for code, table in strings.items()
        }
        # While a person has the conversation, the page asks again every few seconds: their answers
        # arrive in the transcript, not in the answer to a message.
        handoff = bool(record.handoff.get("open"))
        return jsonify(transcript=transcript, languages=languages, language=language, labels=labels, handoff=handoff)

    @bp.post("/api/chat")
    def web_chat():
        problem = refused()
        if problem:
            return problem
        if request.mimetype != "application/json":
            # A cross-site form can post text/plain without asking; application/json it cannot.
            return answer(CHANNEL, 415, "send the body as application/json")
        local = not services.settings.secret("web_chat_token")
        identity = {"id": identities.read(request.cookies.get(COOKIE)), "cookie": ""}

        def scoped(update: Update) -> Update:
            if local and update.user_id != "-":
                return update  # a script on this machine naming its own conversations
            if identity["id"] is None:
                try:
                    identity["id"], identity["cookie"] = identities.issue(logs.client_address(request))
                except RateLimited:
                    raise Refused(429, "too many new conversations from here: try again in a minute") from None
            # One browser, one person: the identity the service issued, whatever user_id the body names
            # (a new one per message would be a new person each time, past the flood limit).
            return replace(update, user_id=identity["id"])

        response = receive(services, CHANNEL, lambda updates: [scoped(update) for update in updates])
        if identity["cookie"]:
            secure = request.is_secure or request.headers.get("X-Forwarded-Proto") == "https"
            response.set_cookie(
                COOKIE,
                identity["cookie"],
                max_age=COOKIE_MAX_AGE,
                httponly=True,
                samesite="Strict",
                secure=secure,
                path="/",
            )
        return response

    return bp
