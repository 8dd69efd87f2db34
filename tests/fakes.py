"""Fake Graph API and Telegram Bot API servers: real HTTP on 127.0.0.1, port 0.

They record every request so tests can assert the exact calls the bot made,
and can be scripted to fail (status codes, 429s, slow answers, dropped
connections) the way the real platforms do.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class Call:
    method: str
    path: str
    query: dict
    body: dict | None
    at: float = field(default_factory=time.monotonic)
    status: int = 0  # what the fake answered (0: dropped the connection)


@dataclass
class Rule:
    """Answer the next ``times`` matching requests with ``status`` and ``body`` (or drop them)."""

    status: int
    body: dict
    times: int = 1
    match: str = ""  # a substring of the path, or "" for any
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


class FakeServer:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.calls_to: dict[str, list[Call]] = {}  # recipient -> their calls, so load tests need not scan all
        self.rules: list[Rule] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle's algorithm and the client's
            # delayed ACK hold the body back about 40 ms on every call.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if fake.latency:
                    time.sleep(fake.latency)  # the way to the platform and back (bench/latency.py)
                parsed = urlparse(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = {"_raw": raw.decode(errors="replace")}
                call = Call(self.command, parsed.path, {k: v[0] for k, v in parse_qs(parsed.query).items()}, body)
                rule = fake._take_rule(parsed.path)
                with fake.lock:
                    fake.calls.append(call)
                    recipient = fake.recipient(call)
                    if recipient is not None:
                        fake.calls_to.setdefault(recipient, []).append(call)
                    if rule is None and self.command == "POST" and fake.random.random() < fake.fail_rate:
                        rule = Rule(500, {"ok": False, "error_code": 500, "error": {"message": "injected", "code": 2}})
                if rule and rule.delay:
                    time.sleep(rule.delay)
                if rule and rule.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, payload = (rule.status, rule.body) if rule else fake.answer(call)
                call.status = status
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up waiting, as a timed-out bot does

            do_GET = do_POST = _handle

        self.fail_rate = 0.0  # share of POSTs answered 500 at random (load tests)
        self.latency = 0.0  # seconds every call takes before it arrives (bench: a real platform's round trip)
        self.random = __import__("random").Random(7)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _take_rule(self, path: str) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.match in path and rule.times > 0:
                    rule.times -= 1
                    if rule.times == 0:
                        self.rules.remove(rule)
                    return rule
        return None

    def queue(
        self,
        status: int,
        body: dict | None = None,
        times: int = 1,
        match: str = "",
        delay: float = 0.0,
        drop: bool = False,
    ) -> None:
        with self.lock:
            self.rules.append(Rule(status, body or {}, times, match, delay, drop))

    def answer(self, call: Call) -> tuple[int, dict]:
        raise NotImplementedError

    def recipient(self, call: Call) -> str | None:
        """Whom a call sends to, if it sends."""
        return None

    def calls_for(self, recipient: str) -> list[Call]:
        with self.lock:
            return list(self.calls_to.get(str(recipient), ()))

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.calls_to.clear()
            self.rules.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeGraph(FakeServer):
    """Graph API v25.0: ``POST /me/messages``, ``GET /{psid}`` (profiles), the Messenger Profile API
    and the ID Matching API (``GET /{app-scoped id}/ids_for_pages``, with an app access token)."""

    VERSION = "v25.0"
    APP_ID = "998877"

    def __init__(self, token: str, app_secret: str = "") -> None:
        self.token = token
        self.app_secret = app_secret
        self.page_ids_of: dict[str, list[str]] = {}  # app-scoped id -> the page-scoped ids Meta links to it
        self.same_business = True  # ID matching works only when the app and the page share a business
        self.profiles: dict[str, dict] = {}
        self.page_profile: dict = {}  # the Messenger Profile API's state
        self.page = {"id": "1122334455", "name": "Mentor Test Page"}
        self.inbound: dict[str, float] = {}  # psid -> when they last wrote, for Messenger's 24-hour window
        self.blocked: set[str] = set()  # psids who blocked the page
        self.clock = time.time
        self.subscribed_fields = ["messages", "messaging_postbacks"]  # what the app is subscribed to
        self.token_refused: int | None = None  # an error_subcode: the page token is refused (code 190) on every call
        self.message_count = 0
        self.thread_owner: dict[str, str] = {}  # psid -> the app that holds the conversation (Handover Protocol)
        self.handovers: list[tuple[str, str]] = []  # (pass_thread_control or take_thread_control, psid), in order
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.VERSION}"

    def answer(self, call: Call) -> tuple[int, dict]:
        if call.path.endswith("/ids_for_pages"):
            return self.ids_for_pages(call)
        if call.query.get("access_token") != self.token:
            return 400, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}
        if self.token_refused is not None:
            return 400, {"error": self.token_error(self.token_refused)}
        if call.method == "POST" and call.path == f"/{self.VERSION}/me/messages":
            psid = str(((call.body or {}).get("recipient") or {}).get("id"))
            if psid in self.blocked:
                return 400, {"error": {"message": "(#551) This person isn't available right now.", "code": 551}}
            refused = self.outside_window(psid, call.body or {})
            if refused:
                return 400, {"error": refused}
            self.message_count += 1
            recipient = (call.body or {}).get("recipient", {}).get("id", "")
            return 200, {"recipient_id": recipient, "message_id": f"m_{self.message_count}"}
        if call.method == "POST" and call.path.rsplit("/", 1)[-1] in ("pass_thread_control", "take_thread_control"):
            return self.thread_control(call.path.rsplit("/", 1)[-1], call.body or {})
        if call.path == f"/{self.VERSION}/me/messenger_profile":
            if call.method == "POST":
                self.page_profile.update(call.body or {})
                return 200, {"result": "success"}
            fields = call.query.get("fields", "").split(",")
            found = {k: v for k, v in self.page_profile.items() if k in fields}
            return 200, {"data": [found] if found else []}
        if call.method == "GET" and call.path == f"/{self.VERSION}/me":
            return 200, self.page
        if call.method == "GET" and call.path == f"/{self.VERSION}/me/subscribed_apps":
            app = {"category": "Education", "link": "https://mentor.example.test/", "name": "Mentor"}
            apps = [app | {"id": self.APP_ID, "subscribed_fields": self.subscribed_fields}]
            return 200, {"data": apps if self.subscribed_fields else []}
        if call.method == "GET":
            psid = call.path.rsplit("/", 1)[-1]
            profile = self.profiles.get(psid)
            if profile is None:
                return 400, {"error": {"message": "(#200) Permissions error", "type": "OAuthException", "code": 200}}
            fields = call.query.get("fields", "").split(",")
            return 200, {k: v for k, v in profile.items() if k in fields} | {"id": psid}
        return 404, {"error": {"message": "Unknown path", "code": 803}}

    PAGE_INBOX = "263902037430900"  # Meta's Page Inbox, a receiver of every page

    def outside_window(self, psid: str, body: dict) -> dict | None:
        """Meta's rules on when a page may write: a standard message within 24 hours of the person's
        last message; one tagged HUMAN_AGENT (a person's answer) within 7 days; nothing after."""
        if body.get("messaging_type") == "MESSAGE_TAG" and body.get("tag") != "HUMAN_AGENT":
            return {"message": "(#100) Invalid tag for this message", "type": "OAuthException", "code": 100}
        if psid not in self.inbound:
            return None
        allowed = 7 * 86400 if body.get("tag") == "HUMAN_AGENT" else 24 * 3600
        if self.clock() - self.inbound[psid] <= allowed:
            return None
        # What Meta answers a message sent after the window the person's last message opened.
        message = "(#10) This message is sent outside of allowed window."
        return {"message": message, "type": "OAuthException", "code": 10, "error_subcode": 2018278}

    def thread_control(self, kind: str, body: dict) -> tuple[int, dict]:
        """The Handover Protocol: pass_thread_control to another app (the Page Inbox), take_thread_control
        back; ``{"success": true}``, or Graph's error (551 for a person who is not available, 100 for
        a parameter that is wrong)."""
        psid = str((body.get("recipient") or {}).get("id") or "")
        if not psid:
            error = {"message": "(#100) The parameter recipient is required", "type": "OAuthException", "code": 100}
            return 400, {"error": error}
        if psid in self.blocked:
            return 400, {"error": {"message": "(#551) This person isn't available right now.", "code": 551}}
        if kind == "pass_thread_control":
            target = str(body.get("target_app_id") or "")
            if target not in (self.PAGE_INBOX, self.APP_ID):
                error = {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100}
                return 400, {"error": error | {"error_subcode": 2018108}}
            self.thread_owner[psid] = target
        else:
            self.thread_owner[psid] = self.APP_ID
        self.handovers.append((kind, psid))
        return 200, {"success": True}

    # What Graph says of a page token it no longer takes, by error_subcode (the Graph API's error handling guide).
    TOKEN_ERRORS = {
        460: "Error validating access token: The session has been invalidated because the user changed their "
        "password or Facebook has changed the session for security reasons.",
        463: "Error validating access token: Session has expired on Friday, 04-Dec-26 09:00:00 PST. The current "
        "time is Friday, 04-Dec-26 10:12:41 PST.",
        467: "Error validating access token: The session is invalid because the user logged out.",
    }

    def token_error(self, subcode: int) -> dict:
        message = self.TOKEN_ERRORS.get(subcode, "Invalid OAuth access token.")
        error = {"message": message, "type": "OAuthException", "code": 190, "error_subcode": subcode}
        return error | {"fbtrace_id": "AbCdEfGh12345"}

    def ids_for_pages(self, call: Call) -> tuple[int, dict]:
        token = f"{self.APP_ID}|{self.app_secret}"
        proof = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        if call.method != "GET" or call.query.get("access_token") != token:
            return 400, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}
        if call.query.get("appsecret_proof") != proof:
            error = {"message": "Invalid appsecret_proof provided in the API argument", "type": "GraphMethodException"}
            return 400, {"error": error | {"code": 100}}
        asid = call.path.split("/")[-2]
        if asid not in self.page_ids_of:
            message = f"Unsupported get request. Object with ID '{asid}' does not exist"
            return 400, {
                "error": {"message": message, "type": "GraphMethodException", "code": 100, "error_subcode": 33}
            }
        ids = self.page_ids_of[asid] if self.same_business else []
        return 200, {"data": [{"id": psid, "page": {"id": self.page["id"], "name": self.page["name"]}} for psid in ids]}

    def reset(self) -> None:
        super().reset()
        self.page_ids_of, self.same_business = {}, True
        self.subscribed_fields = ["messages", "messaging_postbacks"]
        self.inbound, self.clock, self.blocked = {}, time.time, set()
        self.token_refused = None
        self.thread_owner, self.handovers = {}, []

    def messages(self, recipient: str | None = None, accepted: bool = False) -> list[dict]:
        """The Send API bodies the bot posted, oldest first (only those answered 200 if ``accepted``)."""
        if recipient is None:
            with self.lock:
                calls = [c for c in self.calls if self.recipient(c) is not None]
        else:
            calls = self.calls_for(recipient)
        return [c.body for c in calls if not accepted or c.status == 200]

    def recipient(self, call: Call) -> str | None:
        if call.method == "POST" and call.path.endswith("/me/messages"):
            return str(((call.body or {}).get("recipient") or {}).get("id"))
        return None


class FakeTelegram(FakeServer):
    """Bot API: ``POST /bot{token}/{method}``; records every method call."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.message_id = 0
        self.webhook: dict = {}
        self.commands: dict[str, list] = {}  # language_code ("" for the default) -> commands
        self.updates: list[dict] = []  # what getUpdates hands out
        self.blocked: set[str] = set()  # chat ids whose user blocked the bot
        self.last_error: dict = {}  # getWebhookInfo's last_error_date and last_error_message
        self.pending_update_count = 0  # getWebhookInfo's updates waiting for delivery
        self.revoked = False  # the bot token was revoked (@BotFather): every call is 401 Unauthorized
        self.forum = Forum()  # the owner's supergroup with topics (HANDOFF_TELEGRAM_CHAT_ID)
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, call: Call) -> tuple[int, dict]:
        prefix = f"/bot{self.token}/"
        if not call.path.startswith(prefix) or self.revoked:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        method = call.path[len(prefix) :]
        params = call.body or {}
        if method == "getWebhookInfo":
            info = {
                "url": self.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": self.pending_update_count,
            }
            info |= self.last_error
            for key in ("max_connections", "allowed_updates"):
                if key in self.webhook:
                    info[key] = self.webhook[key]
            return 200, {"ok": True, "result": info}
        if method == "getMe":
            return 200, {"ok": True, "result": {"id": 7000001, "is_bot": True, "username": "mentor_test_bot"}}
        if method == "setWebhook":
            self.webhook = dict(params)
            return 200, {"ok": True, "result": True, "description": "Webhook was set"}
        if method == "deleteWebhook":
            self.webhook = {}
            return 200, {"ok": True, "result": True}
        if method == "getMyCommands":
            return 200, {"ok": True, "result": self.commands.get(params.get("language_code", ""), [])}
        if method == "setMyCommands":
            self.commands[params.get("language_code", "")] = params["commands"]
            return 200, {"ok": True, "result": True}
        if method == "getUpdates":
            if self.webhook.get("url"):
                return 409, {
                    "ok": False,
                    "error_code": 409,
                    "description": "Conflict: can't use getUpdates method while webhook is active",
                }
            offset = params.get("offset", 0)
            return 200, {"ok": True, "result": [u for u in self.updates if u["update_id"] >= offset][:100]}
        if (
            str(params.get("chat_id")) == self.forum.chat_id
            or method.endswith("ForumTopic")
            or method.startswith("getChat")
        ):
            refused = self.forum.answer(method, params)
            if refused is not None:
                return refused
        if method in ("sendMessage", "sendPhoto") and str(params.get("chat_id")) in self.blocked:
            return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
        if method in ("sendMessage", "sendPhoto"):
            self.message_id += 1
            return 200, {
                "ok": True,
                "result": {"message_id": self.message_id, "chat": {"id": (call.body or {}).get("chat_id")}},
            }
        return 200, {"ok": True, "result": True}

    def reset(self) -> None:
        super().reset()
        self.last_error = {}
        self.pending_update_count, self.revoked = 0, False
        self.blocked = set()
        self.forum = Forum()

    def recipient(self, call: Call) -> str | None:
        chat_id = (call.body or {}).get("chat_id")
        return None if chat_id is None else str(chat_id)

    def sent(self, method: str | None = None, chat_id: str | None = None) -> list[tuple[str, dict]]:
        if chat_id is None:
            with self.lock:
                calls = list(self.calls)
        else:
            calls = self.calls_for(chat_id)
        named = [(c.path.rsplit("/", 1)[-1], c.body) for c in calls]
        return [(name, body) for name, body in named if method is None or name == method]


class Forum:
    """The owner's supergroup with topics, as the Bot API shows it to the bot: getChat, getChatMember,
    createForumTopic (the bot an admin with can_manage_topics, in a chat with topics on), close,
    reopen and delete, and messages in a topic (``message_thread_id``). Answers None for a call it
    lets through to the ordinary sendMessage."""

    BOT_ID = 7000001

    def __init__(self, chat_id: str = "-1001234567890") -> None:
        self.chat_id = chat_id
        self.title = "Mentor inbox"
        self.kicked = False
        self.is_forum = True
        self.member = {"status": "administrator", "can_manage_topics": True}  # the bot, in the group
        self.topics: dict[int, dict] = {}  # message_thread_id -> {"name", "closed"}
        self.next_thread = 1000 + int(time.time() * 1000) % 100000  # unique across runs that share a server

    def rights(self) -> bool:
        return self.member.get("status") == "creator" or bool(
            self.member.get("status") == "administrator" and self.member.get("can_manage_topics")
        )

    @staticmethod
    def bad(description: str, status: int = 400) -> tuple[int, dict]:
        return status, {"ok": False, "error_code": status, "description": description}

    def answer(self, method: str, params: dict) -> tuple[int, dict] | None:
        if str(params.get("chat_id")) != self.chat_id:
            return self.bad("Bad Request: chat not found") if method != "sendMessage" else None
        if self.kicked:  # an admin removed the bot from the group
            return self.bad("Forbidden: bot was kicked from the supergroup chat", status=403)
        thread = params.get("message_thread_id")
        if method == "getChat":
            chat = {"id": int(self.chat_id), "type": "supergroup", "title": self.title}
            return 200, {"ok": True, "result": chat | ({"is_forum": True} if self.is_forum else {})}
        if method == "getChatMember":
            user = {"id": params.get("user_id"), "is_bot": True, "first_name": "Mentor", "username": "mentor_test_bot"}
            return 200, {"ok": True, "result": {"user": user, **self.member}}
        if method.endswith("ForumTopic") and not self.is_forum:
            return self.bad("Bad Request: the chat is not a forum")
        if method.endswith("ForumTopic") and not self.rights():
            return self.bad("Bad Request: not enough rights to manage topics")
        if method == "createForumTopic":
            name = str(params.get("name") or "")
            if not 1 <= len(name) <= 128:
                return self.bad("Bad Request: TOPIC_TITLE_EMPTY" if not name else "Bad Request: TOPIC_TITLE_TOO_LONG")
            self.next_thread += 1
            self.topics[self.next_thread] = {"name": name, "closed": False}
            topic = {"message_thread_id": self.next_thread, "name": name, "icon_color": 7322096}
            return 200, {"ok": True, "result": topic}
        if method in ("closeForumTopic", "reopenForumTopic", "deleteForumTopic"):
            topic = self.topics.get(thread) if isinstance(thread, int) else None
            if topic is None:
                return self.bad("Bad Request: TOPIC_ID_INVALID")
            if method == "deleteForumTopic":
                del self.topics[thread]
            elif topic["closed"] == (method == "closeForumTopic"):
                return self.bad("Bad Request: TOPIC_NOT_MODIFIED")
            else:
                topic["closed"] = method == "closeForumTopic"
            return 200, {"ok": True, "result": True}
        if method == "sendMessage" and thread is not None:
            topic = self.topics.get(thread) if isinstance(thread, int) else None
            if topic is None:
                return self.bad("Bad Request: message thread not found")
            if topic["closed"] and not self.rights():
                return self.bad("Bad Request: TOPIC_CLOSED")
        return None

    def texts(self, thread: int | str, calls) -> list[str]:
        """What the bot posted in a topic, in order (from the server's calls)."""
        return [
            c.body["text"]
            for c in calls
            if c.path.endswith("/sendMessage")
            and c.status == 200
            and (c.body or {}).get("message_thread_id") == int(thread)
        ]


class FakeSecretManager(FakeServer):
    """Secret Manager's REST API: ``GET /v1/projects/P/secrets/S/versions/V:access``."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # "projects/P/secrets/S/versions/V" -> value ("latest" allowed)
        self.forbidden: set[str] = set()  # secret names (projects/P/secrets/S) the caller may not read
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, call: Call) -> tuple[int, dict]:
        import base64

        name = call.path.removeprefix("/v1/").removesuffix(":access")
        secret = name.split("/versions/")[0]
        if secret in self.forbidden:
            message = f"Permission 'secretmanager.versions.access' denied for resource '{name}'"
            return 403, {"error": {"code": 403, "message": message, "status": "PERMISSION_DENIED"}}
        if name not in self.secrets:
            message = f"Secret [{name}] not found or has no versions."
            return 404, {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}}
        data = base64.b64encode(self.secrets[name].encode()).decode()
        return 200, {"name": name, "payload": {"data": data}}


class FakeGoogleCerts(FakeServer):
    """Google's OAuth2 certs endpoint: {key id: PEM certificate}, for verifying OIDC tokens."""

    def __init__(self, certs: dict[str, str]) -> None:
        self.certs = certs
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/oauth2/v1/certs"

    def answer(self, call: Call) -> tuple[int, dict]:
        return 200, self.certs
