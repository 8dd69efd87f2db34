"""Real-shaped Messenger and Telegram webhook payloads, signed like the platforms sign them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json

FB_TOKEN = "EAAG-test-page-token-123456"
FB_SECRET = "app-secret-for-tests-0123456789"
FB_VERIFY = "verify-me-please"
TG_TOKEN = "123456:TEST-bot-token_abcdefghij"
TG_SECRET = "tg-secret-token_0123456789"
PAGE_ID = "1000000001"
FB_APP_ID = "998877"

_ids = itertools.count(1)


def platform_env(graph_url: str, telegram_url: str) -> dict[str, str]:
    """The credentials and platform addresses every test server runs with."""
    return {
        "FB_PAGE_ACCESS_TOKEN": FB_TOKEN,
        "FB_APP_SECRET": FB_SECRET,
        "FB_VERIFY_TOKEN": FB_VERIFY,
        "FB_APP_ID": FB_APP_ID,
        "FB_GRAPH_URL": graph_url,
        "TELEGRAM_BOT_TOKEN": TG_TOKEN,
        "TELEGRAM_SECRET_TOKEN": TG_SECRET,
        "TELEGRAM_API_URL": telegram_url,
    }


# ---------------------------------------------------------------- payloads, signed like the platforms sign them


def sign(raw: bytes, secret: str = FB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def fb_body(*events: dict) -> dict:
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": 1732450000000, "messaging": list(events)}]}


def fb_text(psid: str, text: str, mid: str | None = None) -> dict:
    mid = mid or f"m_{next(_ids)}"
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1732450000000 + next(_ids),
        "message": {"mid": mid, "text": text},
    }


def fb_quick_reply(psid: str, title: str, payload: str, mid: str | None = None) -> dict:
    event = fb_text(psid, title, mid)
    event["message"]["quick_reply"] = {"payload": payload}
    return event


def fb_postback(psid: str, title: str, payload: str, mid: str | None = None) -> dict:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1732450000000 + next(_ids),
        "postback": {"title": title, "payload": payload, "mid": mid or f"m_pb_{next(_ids)}"},
    }


def post_fb(client, body: dict | bytes, signature: str | None = "auto"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        headers["X-Hub-Signature-256"] = sign(raw)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return client.post("/webhook/messenger", data=raw, headers=headers)


def tg_user(user_id: int, first_name: str = "Ana", language_code: str = "en") -> dict:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}


def tg_too_many(retry_after: int) -> dict:
    """The Bot API's answer to a call over its rate limit (HTTP 429)."""
    return {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }


def tg_message(user_id: int, text: str, update_id: int | None = None, **user) -> dict:
    message = {
        "message_id": next(_ids),
        "from": tg_user(user_id, **user),
        "chat": {"id": user_id, "first_name": user.get("first_name", "Ana"), "type": "private"},
        "date": 1732450000,
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
    return {"update_id": update_id or 500000 + next(_ids), "message": message}


def tg_in_topic(chat_id: str, thread: int | str, text: str, user_id: int = 4242, update_id: int | None = None) -> dict:
    """A message someone writes in a topic of the owner's supergroup (the handoff inbox)."""
    message = {
        "message_id": next(_ids),
        "message_thread_id": int(thread),
        "is_topic_message": True,
        "from": tg_user(user_id, first_name="Olga"),
        "chat": {"id": int(chat_id), "title": "Mentor inbox", "type": "supergroup", "is_forum": True},
        "date": 1732450000,
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
    return {"update_id": update_id or 500000 + next(_ids), "message": message}


def tg_callback(user_id: int, data: str, update_id: int | None = None, **user) -> dict:
    return {
        "update_id": update_id or 500000 + next(_ids),
        "callback_query": {
            "id": str(4000000 + next(_ids)),
            "from": tg_user(user_id, **user),
            "message": {"message_id": 1, "chat": {"id": user_id, "type": "private"}, "date": 1732450000, "text": "…"},
            "chat_instance": "-123",
            "data": data,
        },
    }


def post_tg(client, body: dict | bytes, secret: str | None = TG_SECRET):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return client.post("/webhook/telegram", data=raw, headers=headers)


def signed_request(payload: dict | str, secret: str = FB_SECRET) -> str:
    """Meta's ``signed_request``: base64url(HMAC-SHA256 of the payload part) "." base64url(JSON)."""
    import base64

    raw = payload if isinstance(payload, str) else json.dumps(payload)
    part = base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()
    signature = hmac.new(secret.encode(), part.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode() + "." + part
