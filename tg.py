"""Telegram: verify, parse, render as HTML messages with inline keyboards, send.

The webhook is verified by ``X-Telegram-Bot-Api-Secret-Token`` (constant-time
comparison). Text goes out with ``parse_mode=HTML`` and every piece of text is
escaped, so a user's name or words can never become markup. Callback data is
limited to 64 bytes: longer payloads travel as short keys remembered in the
conversation.
"""

from __future__ import annotations

import hmac
import html
import time
from collections.abc import Callable, Mapping
from typing import Any

from chatbot.core import channels, deadline, logs, outbound
from chatbot.core.health import Check
from chatbot.core.outbound import SendFailed
from chatbot.core.settings import SecretError
from chatbot.core.stamps import outside_time
from chatbot.core.text import shorten, split_text
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Button, Card, Reply, Update

CHANNEL = "telegram"
LIMIT = channels.TELEGRAM.limits  # the Bot API's
TIMEOUT = outbound.DEFAULT_TIMEOUT
MAX_INLINE_WAIT = 5.0  # a 429 asking for a longer wait is answered 503 so Telegram redelivers later
MAX_INLINE_RETRIES = 2
RECENT_ERROR_SECONDS = 24 * 3600  # a delivery error Telegram reports is news for a day
# Updates still waiting and a delivery error this recent: Telegram cannot deliver now (it keeps retrying
# what is pending, so while the webhook fails the error stays fresh; a webhook that recovered has none
# waiting, or only updates in flight long after its last error).
STUCK_SECONDS = 3600
ATTACHMENT_KINDS = (
    "photo",
    "sticker",
    "voice",
    "video",
    "video_note",
    "audio",
    "document",
    "animation",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "story",
)


def verify_secret(header: str | None, secret: str) -> bool:
    if not header or not secret:
        return False
    return hmac.compare_digest(header.encode(), secret.encode())


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _str(value) -> str:
    return value if isinstance(value, str) else ""


def parse(body: Any, username: str = "") -> Update | None:
    """The one update in a webhook body, or None for kinds the bot does not handle. ``username``
    is this bot's: a command addressed to another bot (/start@OtherBot) is not ours to answer."""
    if not isinstance(body, dict):
        return None
    update_id = _int(body.get("update_id"))
    if update_id is None:
        return None
    event_id = str(update_id)
    if isinstance(body.get("message"), dict):
        return parse_message(event_id, body["message"], username)
    if isinstance(body.get("callback_query"), dict):
        query = body["callback_query"]
        sender = _dict(query.get("from"))
        chat = _dict(_dict(query.get("message")).get("chat")) or {"id": sender.get("id"), "type": "private"}
        person = conversation_id(chat, sender)
        if person is None or not _str(query.get("id")):
            return None
        return Update(
            channel=CHANNEL,
            user_id=person,
            event_id=event_id,
            payload=_str(query.get("data")) or "?",
            callback_id=query["id"],
            first_name=_str(sender.get("first_name")),
            locale=_str(sender.get("language_code")),
        )
    return None  # edited messages, channel posts, member updates, polls...


def conversation_id(chat: dict, sender: dict) -> str | None:
    """Whose conversation this is: the chat, or in a group each member's own (``chat/member``),
    so that one member cannot drop or restart another's plan. Replies go to the chat either way."""
    chat_id, sender_id = _int(chat.get("id")), _int(sender.get("id"))
    if chat_id is None:
        return None
    if chat.get("type") in ("group", "supergroup") and sender_id is not None:
        return f"{chat_id}/{sender_id}"
    return str(chat_id)


def chat_of(user_id: str) -> str:
    """The chat to send to, for a conversation id from ``conversation_id``."""
    return user_id.split("/", 1)[0]


def command_mention(message: Any) -> str:
    """The bot a leading command is addressed to (``/start@name`` -> ``name``), or ""."""
    text = _str(_dict(message).get("text"))
    first_word = text.split(maxsplit=1)[0] if text.startswith("/") else ""
    return first_word.partition("@")[2]


def parse_message(event_id: str, message: dict, username: str = "") -> Update | None:
    chat = _dict(message.get("chat"))
    sender = _dict(message.get("from"))
    person = conversation_id(chat, sender)
    # Channels are broadcasts, and bots talking to bots loop; groups are fine: by default a bot
    # in a group only receives commands and replies to its own messages. An anonymous admin of a
    # group writes as the group itself (``sender_chat`` is the chat; ``from`` is Telegram's stand-in
    # bot): a person, the owner answering from their inbox for one.
    anonymous_admin = _int(_dict(message.get("sender_chat")).get("id")) == _int(chat.get("id"))
    if person is None or chat.get("type") == "channel" or sender.get("is_bot") is True and not anonymous_admin:
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "user_id": person,
        "event_id": event_id,
        "first_name": _str(sender.get("first_name")),
        "locale": _str(sender.get("language_code")),
        "timestamp": outside_time(message.get("date")),
    }
    thread = _int(message.get("message_thread_id"))
    if message.get("is_topic_message") is True and thread is not None:
        base["thread"] = str(thread)  # a forum's topic: in the owner's inbox, whose learner it is
    text = _str(message.get("text"))
    if text:
        listed = message.get("entities")
        entities = listed if isinstance(listed, list) else []
        first = _dict(entities[0]) if entities else {}
        if first.get("type") == "bot_command" and first.get("offset") == 0 and _int(first.get("length")):
            word, _, mention = text[1 : first["length"]].partition("@")
            if mention and mention.lower() != username.lower():
                return None  # another bot's command, in a group we share
            command, rest = word.lower(), text[first["length"] :].strip()
            return Update(command=command, text=rest, opens=command == "start", **base)
        mention = command_mention(message)  # typed like a command, whatever the entities say (code, none)
        if mention and mention.lower() != username.lower():
            return None  # another bot's command, in a group we share
        return Update(text=text, **base)
    kind = next((k for k in ATTACHMENT_KINDS if k in message), "")
    return Update(attachment=kind, **base) if kind else None


# ---------------------------------------------------------------- rendering


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def callback_data(payload: str, short: Callable[[str], str]) -> str:
    if len(payload.encode()) <= LIMIT["callback_data"] and not payload.startswith("~"):
        return payload
    return short(payload)


def keyboard_rows(buttons: list[Button], short: Callable[[str], str], per_row: int) -> list[list[dict]]:
    keys = []
    for button in buttons:
        title = shorten(button.title, 64)
        keys.append(
            {"text": title, "url": button.url}
            if button.url
            else {"text": title, "callback_data": callback_data(button.payload, short)}
        )
    return [keys[i : i + per_row] for i in range(0, len(keys), per_row)]


def card_caption(card: Card) -> str:
    caption = f"<b>{escape(card.title)}</b>"
    if card.subtitle:
        caption += "\n" + escape(card.subtitle)
    return caption


def absolute_image(url: str, public_url: str) -> str:
    if url.startswith("https://"):
        return url
    return public_url + url if url.startswith("/") and public_url.startswith("https://") else ""


def as_text(photo: dict) -> dict:
    """A sendPhoto's parameters as a sendMessage's: the caption as the text, the buttons kept."""
    params = {name: value for name, value in photo.items() if name not in ("photo", "caption")}
    return params | {"text": photo.get("caption") or "…", "link_preview_options": {"is_disabled": True}}


def render_reply(reply: Reply, chat_id: str, short: Callable[[str], str], public_url: str = "") -> list[dict]:
    """One neutral reply as Bot API calls: text chunks, cards, quick replies on the last one."""
    calls: list[dict] = []
    for chunk in split_text(reply.text, LIMIT["text"]):
        params = {
            "chat_id": chat_id,
            "text": escape(chunk),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        calls.append({"method": "sendMessage", "params": params})
    if reply.buttons:
        if not calls:
            calls.append({"method": "sendMessage", "params": {"chat_id": chat_id, "text": "…"}})
        calls[-1]["params"]["reply_markup"] = {"inline_keyboard": keyboard_rows(reply.buttons, short, 1)}
    for card in reply.cards:
        rows = keyboard_rows(card.buttons, short, 1)
        image = absolute_image(card.image_url, public_url)
        if image:
            params = {"chat_id": chat_id, "photo": image, "caption": card_caption(card), "parse_mode": "HTML"}
            call: dict[str, Any] = {"method": "sendPhoto", "params": params}
        else:
            params = {
                "chat_id": chat_id,
                "text": card_caption(card),
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
            }
            call = {"method": "sendMessage", "params": params}
        if rows:
            call["params"]["reply_markup"] = {"inline_keyboard": rows}
        calls.append(call)
    if reply.quick_replies:
        if not calls:
            calls.append({"method": "sendMessage", "params": {"chat_id": chat_id, "text": "…"}})
        markup = calls[-1]["params"].setdefault("reply_markup", {"inline_keyboard": []})
        markup["inline_keyboard"] += keyboard_rows(reply.quick_replies, short, 2)
    return calls


class Telegram:
    """One Telegram bot: holds the HTTP session and the settings it needs."""

    name = CHANNEL
    ack = "ok\n"
    unprompted_window: float | None = None  # a bot may write to a chat any time, unless blocked
    keeps_transcript = False  # Telegram keeps the history itself

    def __init__(self, settings, session=None, sleep=time.sleep, max_inline_wait: float = MAX_INLINE_WAIT):
        self.settings = settings
        self.session = session or outbound.new_session()
        self.sleep = sleep
        self.max_inline_wait = max_inline_wait  # the CLI may wait longer than a webhook can
        self._username: str | None = None
        self._noticed: Check | None = None  # the bot token Telegram refused while sending, for the owner

    def url(self, method: str) -> str:
        return f"{self.settings.telegram_api_url}/bot{self.settings.secret('telegram_bot_token')}/{method}"

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        return verify_secret(
            headers.get("X-Telegram-Bot-Api-Secret-Token"), self.settings.secret("telegram_secret_token")
        )

    def username(self) -> str:
        """This bot's username, asked of Telegram once (getMe) the first time a command names a bot."""
        if self._username is None:
            self._username = str(self.call("getMe", {}).get("result", {}).get("username", ""))
        return self._username

    def parse(self, body: Any) -> list[Update]:
        mentioned = command_mention(body.get("message")) if isinstance(body, dict) else ""
        update = parse(body, self.username() if mentioned else "")
        if update is None:
            logs.get().info(
                "telegram update ignored", extra={"kinds": sorted(body)[:5] if isinstance(body, dict) else []}
            )
        return [update] if update else []

    def may_send_unprompted(self, conv: Conversation, now: float) -> bool:
        """Any time, unless the person blocked the bot (the platform said 403)."""
        return conv.active

    def needs_profile(self, conv: Conversation) -> bool:
        return False  # every update carries the sender's first name and language

    def fetch_profile(self, user_id: str) -> dict:
        return {}

    def render(
        self, replies: list[Reply], conv: Conversation, update: Update, short: Callable[[str], str]
    ) -> list[dict]:
        calls = []
        if update.callback_id:
            # Always answered, even for stale or unknown data, or the button spins for the user.
            calls.append({"method": "answerCallbackQuery", "params": {"callback_query_id": update.callback_id}})
        for reply in replies:
            calls += render_reply(reply, chat_of(conv.user_id), short, self.settings.public_url)
        return calls

    def render_human(self, replies: list[Reply], conv: Conversation, now: float) -> list[dict] | None:
        """A person's answer goes out like the bot's: a bot may write to a chat any time, unless blocked."""
        return [call for reply in replies for call in render_reply(reply, chat_of(conv.user_id), lambda p: p)]

    # ------------------------------------------------------------ the owner's inbox: a forum, a topic each

    def create_topic(self, chat: str, name: str) -> str:
        found = self.call("createForumTopic", {"chat_id": chat, "name": shorten(name, 128)})
        return str(found["result"]["message_thread_id"])

    def reopen_topic(self, chat: str, topic: str) -> bool:
        try:
            self.call("reopenForumTopic", {"chat_id": chat, "message_thread_id": int(topic)})
        except SendFailed as error:
            if "TOPIC_NOT_MODIFIED" in str(error):
                return True  # open already
            if error.status == 400:
                return False  # deleted meanwhile: a new one is made
            raise
        return True

    def delete_topic(self, chat: str, topic: str) -> None:
        self.call("deleteForumTopic", {"chat_id": chat, "message_thread_id": int(topic)})

    def render_in_topic(self, chat: str, topic: str, text: str) -> list[dict]:
        calls = render_reply(Reply(text=text), chat, lambda p: p)
        for call in calls:
            call["params"]["message_thread_id"] = int(topic)
        return calls

    def text_of(self, item: dict) -> str:
        params = _dict(item.get("params"))
        return html.unescape(str(params.get("text") or params.get("caption") or ""))

    def closing_topic(self, chat: str, topic: str) -> dict:
        return {"method": "closeForumTopic", "params": {"chat_id": chat, "message_thread_id": int(topic)}}

    def inbox_checks(self, chat: str) -> list[Check]:
        """The handoff chat as Telegram sees it (getChat, getChatMember): topics on, the bot an admin
        that may manage them."""
        name = "handoff inbox"
        how = "run `flask --app app setup telegram` for the steps"
        try:
            found = self.call("getChat", {"chat_id": chat}).get("result") or {}
            me = self.call("getMe", {}).get("result") or {}
            member = self.call("getChatMember", {"chat_id": chat, "user_id": me.get("id")}).get("result") or {}
        except (SendFailed, SecretError) as error:
            if isinstance(error, SendFailed) and error.transient:
                return [Check(False, name, f"Telegram did not answer ({error}): try again later", unsure=True)]
            detail = f"Telegram cannot show the bot the chat {chat} ({error}): add the bot to it; {how}"
            return [Check(False, name, detail)]
        title = found.get("title") or chat
        if found.get("type") != "supergroup" or not found.get("is_forum"):
            return [Check(False, name, f"{title} has no topics: turn Topics on in the group's settings; {how}")]
        if member.get("status") not in ("administrator", "creator"):
            return [Check(False, name, f"the bot is not an admin of {title}: make it one, with Manage topics; {how}")]
        if member.get("status") == "administrator" and not member.get("can_manage_topics"):
            return [Check(False, name, f"the bot may not manage topics in {title}: give it that right; {how}")]
        return [Check(True, name, f"{title}: topics on, the bot an admin that manages them (a topic per handoff)")]

    def call(self, method: str, params: dict, read_timeout: float | None = None) -> dict:
        """One Bot API call; short 429 waits are honoured here, anything else raises SendFailed."""
        timeout = (TIMEOUT[0], read_timeout or TIMEOUT[1])
        started = time.monotonic()
        for attempt in range(MAX_INLINE_RETRIES + 1):
            status, body = outbound.post_json(self.session, self.url(method), params, timeout)
            if status == 200 and body.get("ok") is not False:
                return body
            description = str(body.get("description", ""))[:200]
            if status == 429:
                retry_after = _int(_dict(body.get("parameters")).get("retry_after")) or 1
                if attempt < MAX_INLINE_RETRIES and self.may_wait(retry_after, time.monotonic() - started):
                    logs.get().info("telegram rate limit, waiting", extra={"retry_after": retry_after})
                    self.sleep(retry_after)
                    continue
                raise SendFailed(f"telegram 429 retry_after={retry_after}", transient=True, status=429)
            if method == "answerCallbackQuery" and status == 400:
                raise SendFailed(f"telegram {status}: {description}", transient=False, status=status)
            reason = f"telegram {method} {status}: {description}"
            # 401/404: the bot's token was revoked or replaced, the owner's to fix: replies stay queued
            # (Telegram keeps redelivering) rather than being dropped as if the person were at fault.
            transient = status >= 500 or status in (0, 401, 404)
            raise SendFailed(reason, transient=transient, user_gone=status == 403, status=status)
        raise SendFailed("telegram 429: retries used up", transient=True)

    def may_wait(self, retry_after: int, elapsed: float) -> bool:
        """Whether a 429's wait is worth taking here rather than handing the message back: it is short,
        and the wait and one more try still fit in a send's bound (outbound.SEND_SECONDS_MAX, which a
        claim on replies outlives) and in what the request has left. The owner's commands (``patient``)
        wait out up to a minute, with no claim to keep."""
        if retry_after > self.max_inline_wait:
            return False
        patient = self.max_inline_wait > MAX_INLINE_WAIT
        bound = outbound.PATIENT_SEND_SECONDS_MAX if patient else outbound.SEND_SECONDS_MAX
        longest = retry_after + TIMEOUT[0] + TIMEOUT[1]  # the wait, then a try that takes all it may
        shortest = retry_after + TIMEOUT[0] + 1.0  # ... or, cut to the request's deadline, a short answer
        return elapsed + longest <= bound and deadline.left(shortest) >= shortest

    def send(self, item: dict) -> None:
        try:
            try:
                self.call(item["method"], item["params"])
            except SendFailed as error:
                if item["method"] != "sendPhoto" or error.status != 400:
                    raise
                # Telegram could not fetch or read the picture ("failed to get HTTP URL content", "wrong
                # type of the web page content"): the card goes out as text rather than not at all.
                logs.get().warning("a card's picture was refused, sent as text", extra={"reason": str(error)})
                self.call("sendMessage", as_text(item["params"]))
        except SendFailed as error:
            if error.status in (401, 404):  # the token was revoked or replaced: every send fails alike
                self._noticed = token_check(error)
            raise

    def noticed(self) -> list[Check]:
        found, self._noticed = self._noticed, None
        return [found] if found else []

    def setup(self, skills) -> list[str]:
        """The webhook (with the secret token) and the command list per language, where they differ."""
        if not self.settings.public_url.startswith("https://"):
            raise SendFailed("needs an https PUBLIC_URL for the webhook", transient=False)
        return setup(self.patient(), skills, self.settings.public_url)

    def patient(self) -> Telegram:
        """For the owner's commands: a 429 asking for up to a minute is waited out, not handed back."""
        return Telegram(self.settings, self.session, sleep=self.sleep, max_inline_wait=60)

    def diagnose(self) -> list[Check]:
        """The token (getMe) and the webhook as Telegram reports it (getWebhookInfo)."""
        try:
            me = self.call("getMe", {}).get("result") or {}
        except (SendFailed, SecretError) as error:
            return [token_check(error)]
        return [Check(True, "telegram token", f"the bot is @{me.get('username', '?')}"), self.webhook_check()]

    def webhook_check(self) -> Check:
        info = self.call("getWebhookInfo", {}).get("result") or {}
        url, pending = info.get("url", ""), info.get("pending_update_count", 0)
        public_url = self.settings.public_url
        how = "run `flask --app app setup telegram`"
        if not public_url.startswith("https://"):
            if url:
                return Check(False, "telegram webhook", f"set to {url} but PUBLIC_URL is not an https URL: set it")
            return Check(True, "telegram webhook", "none set (fine for `flask --app app telegram-poll`)")
        wanted = webhook_url(public_url, self.settings.secret("telegram_secret_token"))
        if not url:
            return Check(False, "telegram webhook", f"not set: {how}")
        if url != wanted:
            return Check(False, "telegram webhook", f"points at {url}, not {wanted}: {how}")
        last_error = info.get("last_error_date") or 0
        age = time.time() - last_error if isinstance(last_error, int | float) and last_error else None
        if age is None or age >= RECENT_ERROR_SECONDS:
            return Check(True, "telegram webhook", f"{url}, {pending} update(s) pending")
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(last_error))
        said = info.get("last_error_message", "")
        if pending and age < STUCK_SECONDS:
            detail = f"Telegram cannot deliver: its last try failed at {when}: {said}; {pending} update(s) waiting"
            return Check(False, "telegram webhook", detail)
        detail = f"{url}, {pending} update(s) pending; a delivery failed at {when} ({said}), none waits since"
        return Check(True, "telegram webhook", detail)

    def poll(self, handle: Callable[[dict], bool], stop_when_idle: bool = False, force: bool = False, say=print) -> int:
        """Long polling instead of the webhook (see ``poll``), for a laptop with no public URL."""
        return poll(self, handle, stop_when_idle=stop_when_idle, force=force, say=say)

    def explain(self, error: SendFailed) -> str:
        """One line for the owner on why polling stopped."""
        if isinstance(error, WebhookSet):
            return str(error)
        if error.status in (401, 404):
            fix = "copy it again from @BotFather into TELEGRAM_BOT_TOKEN"
            return f"Telegram refused the bot token ({error.status}): {fix}"
        if error.status == 409:
            return (
                "Telegram says something else takes this bot's updates (409): a webhook set meanwhile, or another "
                "telegram-poll running. Stop the other one and run this again"
            )
        if error.transient:
            return f"Telegram is not reachable ({error}): check the network and TELEGRAM_API_URL, then run this again"
        return f"Telegram refused: {error}"


def token_check(error: Exception) -> Check:
    """The token check, failed: what doctor prints, the dashboard shows and the owner is told,
    whether the check or a send found it."""
    fix = "copy the token again from @BotFather into TELEGRAM_BOT_TOKEN"
    refused = getattr(error, "status", 0) in (401, 404) or isinstance(error, SecretError)
    if not refused:
        fix = "Telegram did not answer: check the network, then run this again"
    return Check(False, "telegram token", f"{error} — fix: {fix}", unsure=not refused)


def make(settings, *, session=None, sleep=time.sleep) -> Telegram:
    return Telegram(settings, session, sleep=sleep)


# ---------------------------------------------------------------- setup and polling (CLI)

ALLOWED_UPDATES = ["message", "callback_query"]


def webhook_url(public_url: str, secret: str) -> str:
    """Our webhook URL, with a fingerprint of the secret token: getWebhookInfo never shows the
    secret, so this is how a later run sees that it was rotated. A hash prefix, not the secret."""
    import hashlib

    return f"{public_url}/webhook/telegram?v={hashlib.sha256(secret.encode()).hexdigest()[:10]}"


def setup(bot: Telegram, skills, public_url: str, max_connections: int = 40) -> list[str]:
    """Webhook and command lists, changed only where they differ. Returns what was done."""
    done = []
    secret = bot.settings.secret("telegram_secret_token")
    wanted = {
        "url": webhook_url(public_url, secret),
        "max_connections": max_connections,
        "allowed_updates": ALLOWED_UPDATES,
    }
    info = bot.call("getWebhookInfo", {})["result"]
    current = {
        "url": info.get("url", ""),
        "max_connections": info.get("max_connections", 40),
        "allowed_updates": sorted(info.get("allowed_updates") or ALLOWED_UPDATES),
    }
    if current != wanted | {"allowed_updates": sorted(ALLOWED_UPDATES)}:
        bot.call("setWebhook", wanted | {"secret_token": secret, "drop_pending_updates": False})
        done.append("setWebhook")
    for locale in skills.locales:
        commands = [
            {"command": c["command"], "description": skills.text(c["description"], locale)} for c in skills.commands
        ]
        # The default locale's list is also the list for every language we do not speak.
        scopes = [{}] if locale == skills.default_locale else [{"language_code": locale}]
        for scope in scopes:
            if bot.call("getMyCommands", scope)["result"] != commands:
                bot.call("setMyCommands", {"commands": commands, **scope})
                done.append(f"setMyCommands {scope.get('language_code', 'default')}")
    return done


class WebhookSet(SendFailed):
    """Polling would take the updates of a bot whose webhook is set (a deployed bot, most likely)."""

    def __init__(self, reason: str):
        super().__init__(reason, transient=False)


def poll(bot: Telegram, handle, stop_when_idle: bool = False, timeout: int = 25, force: bool = False, say=print) -> int:
    """Long polling for a laptop with no public URL: the same handler as the webhook.
    An update is only acknowledged (offset moved past it) once it was handled. Network trouble
    and Telegram's 5xx are waited out with backoff; a refused token (401) or another consumer
    of the updates (409) raises ``SendFailed`` for the caller to explain.

    Telegram delivers a bot's updates either to its webhook or to getUpdates, never both. While a
    webhook is set (the deployed bot), polling would silence it: refused unless ``force``, and
    then the webhook is put back when polling stops, when this machine knows its secret token
    (the URL's fingerprint matches TELEGRAM_SECRET_TOKEN); otherwise it says how to put it back."""
    info = bot.call("getWebhookInfo", {})["result"]
    webhook = info.get("url", "")
    restore: dict | None = None
    if webhook:
        if not force:
            raise WebhookSet(
                f"this bot has a webhook ({webhook}): Telegram sends its updates there, and polling here would "
                "take them from that service. Use a bot of your own for trying things (@BotFather), or run "
                "again with --force to take its updates while this runs"
            )
        secret = bot.settings.secret("telegram_secret_token")
        if secret and webhook.endswith(webhook_url("", secret)):
            restore = {"url": webhook, "secret_token": secret, "allowed_updates": ALLOWED_UPDATES}
            restore["max_connections"] = info.get("max_connections", 40)
            say(f"the webhook {webhook} is removed while this runs, and put back when it stops")
        else:
            say(
                f"the webhook {webhook} is removed while this runs and cannot be put back from here (its secret "
                "token is not this machine's): afterwards run `flask --app app setup telegram` with the deployed "
                "settings, or push again"
            )
    bot.call("deleteWebhook", {"drop_pending_updates": False})
    try:
        return _poll_updates(bot, handle, stop_when_idle, timeout)
    finally:
        if restore is not None:
            try:
                bot.call("setWebhook", restore | {"drop_pending_updates": False})
                say(f"the webhook {webhook} is back")
            except SendFailed as error:
                say(f"could not put the webhook back ({error}): run `flask --app app setup telegram`")


def _poll_updates(bot: Telegram, handle, stop_when_idle: bool, timeout: int) -> int:
    offset, handled, failures = 0, 0, 0
    while True:
        params = {"offset": offset, "timeout": 0 if stop_when_idle else timeout, "allowed_updates": ALLOWED_UPDATES}
        try:
            updates = bot.call("getUpdates", params, read_timeout=timeout + 10)["result"]
        except SendFailed as error:
            if not error.transient or error.status in (401, 404):  # a refused token does not get better by waiting
                raise
            failures += 1
            wait = min(60, 2 ** min(failures, 6))
            logs.get().warning("telegram not reachable, trying again", extra={"error": str(error), "wait": wait})
            bot.sleep(wait)
            continue
        failures = 0
        if not updates and stop_when_idle:
            return handled
        for body in updates:
            if not handle(body):
                bot.sleep(1)  # not all sent: ask for it again, from this update on
                break
            offset = body["update_id"] + 1
            handled += 1
