"""Telegram: the secret token, update kinds, callback queries, escaping, limits, 429s and 403s."""

from __future__ import annotations

import html
import json
import re

import pytest
from conftest import CATALOG_PAGES
from payloads import TG_SECRET, TG_TOKEN, post_tg, tg_callback, tg_message, tg_too_many

import tg
from chatbot.core.text import utf16_len
from chatbot.delivery import relay
from chatbot.delivery.relay import DeliveryRecord
from chatbot.engine.types import Button, Card, Reply
from chatbot.store.base import Change


@pytest.mark.parametrize("secret", [None, "", "wrong", TG_SECRET + "x", TG_SECRET[:-1], TG_TOKEN])
def test_wrong_or_missing_secret_is_403(client, app, telegram, secret, store):
    assert post_tg(client, tg_message(7001, "/start"), secret=secret).status_code == 403
    assert telegram.calls == []
    assert relay.load_conversation(store, "telegram:7001") is None


def test_start_command_greets_by_name_with_inline_keyboard(client, telegram):
    assert post_tg(client, tg_message(7002, "/start", first_name="Zoë")).status_code == 200
    sent = telegram.sent("sendMessage", 7002)
    assert sent[0][1]["text"].startswith("Hi Zoë!")
    assert sent[0][1]["parse_mode"] == "HTML"
    keyboard = sent[-1][1]["reply_markup"]["inline_keyboard"]
    data = [key["callback_data"] for row in keyboard for key in row]
    assert data == ["BROWSE", "MY_SKILLS", "SUGGEST", "HELP"]
    assert all(c.path.startswith(f"/bot{TG_TOKEN}/") for c in telegram.calls)


@pytest.mark.parametrize("command", ["/start", "/start@mentor_test_bot", "/start deep-link-ref", "/START"])
def test_start_variants(client, telegram, command):
    assert post_tg(client, tg_message(7003, command)).status_code == 200
    assert telegram.sent("sendMessage", 7003)[0][1]["text"].startswith("Hi Ana!")


def test_help_and_bot_commands(client, telegram):
    post_tg(client, tg_message(7004, "/help"))
    assert telegram.sent("sendMessage", 7004)[0][1]["text"].startswith("Here's how I work")
    telegram.reset()
    post_tg(client, tg_message(7004, "/skills"))
    assert f"page 1 of {CATALOG_PAGES}" in telegram.sent("sendMessage", 7004)[0][1]["text"]
    telegram.reset()
    post_tg(client, tg_message(7004, "/nonsense"))  # not understood, with the catalog on screen: its names
    assert telegram.sent("sendMessage", 7004)[0][1]["text"].startswith("To pick a skill, type its name")


def test_language_code_picks_spanish(client, telegram):
    post_tg(client, tg_message(7005, "/start", language_code="es"))
    assert telegram.sent("sendMessage", 7005)[0][1]["text"].startswith("¡Hola, Ana!")


@pytest.mark.parametrize("data", ["BROWSE", "STALE:thing", "~0000000000000000", "DONE:git:git-1", ""])
def test_callback_queries_are_always_answered(client, telegram, data):
    update = tg_callback(7006, data or "x")
    if not data:
        del update["callback_query"]["data"]
    assert post_tg(client, update).status_code == 200
    names = [name for name, _ in telegram.sent(None)]
    assert names[0] == "answerCallbackQuery"
    assert telegram.calls[0].body == {"callback_query_id": update["callback_query"]["id"]}
    assert len(names) > 1  # and the user gets an answer in the chat


def test_answer_to_an_expired_callback_query_is_not_retried(client, telegram):
    telegram.queue(
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: query is too old"},
        match="answerCallbackQuery",
    )
    assert post_tg(client, tg_callback(7007, "HELP")).status_code == 200
    assert telegram.sent("sendMessage", 7007)


@pytest.mark.parametrize(
    "update",
    [
        {
            "update_id": 9001,
            "edited_message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "date": 1, "text": "x"},
        },
        {
            "update_id": 9002,
            "channel_post": {"message_id": 1, "chat": {"id": -100, "type": "channel"}, "date": 1, "text": "x"},
        },
        {"update_id": 9003, "my_chat_member": {"chat": {"id": 1, "type": "private"}, "from": {"id": 1}, "date": 1}},
        {
            "update_id": 9004,
            "message": {"message_id": 1, "chat": {"id": -5, "type": "channel"}, "date": 1, "text": "/start"},
        },
        {
            "update_id": 9008,
            "message": {
                "message_id": 1,
                "from": {"id": 9, "is_bot": True, "first_name": "B"},
                "chat": {"id": 9, "type": "private"},
                "date": 1,
                "text": "hi",
            },
        },
        {
            "update_id": 9005,
            "message": {"message_id": 1, "chat": {"id": 5, "type": "private"}, "date": 1, "new_chat_title": "x"},
        },
        {"update_id": "9006", "message": {"message_id": 1, "chat": {"id": 5, "type": "private"}, "text": "hi"}},
        {"message": {"message_id": 1, "chat": {"id": 5, "type": "private"}, "text": "hi"}},
        {"update_id": 9007, "poll": {"id": "1"}},
    ],
    ids=["edited", "channel-post", "member", "channel-message", "from-a-bot", "service", "string-id", "no-id", "poll"],
)
def test_other_update_kinds_are_ignored_with_200(client, telegram, update):
    assert post_tg(client, update).status_code == 200
    assert telegram.calls == []


def test_commands_in_a_group_are_answered_in_the_group(client, telegram):
    update = tg_message(7020, "/help@mentor_test_bot")
    update["message"]["chat"] = {"id": -1001234, "type": "supergroup", "title": "Study group"}
    assert post_tg(client, update).status_code == 200
    assert telegram.sent("sendMessage", -1001234)


def test_minimal_hand_made_update_without_chat_type(client, telegram):
    body = {
        "update_id": 31337,
        "message": {"message_id": 1, "chat": {"id": 7021}, "from": {"id": 7021, "first_name": "Min"}, "text": "/start"},
    }
    body["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    assert post_tg(client, body).status_code == 200
    assert telegram.sent("sendMessage", 7021)[0][1]["text"].startswith("Hi Min!")


def test_sticker_gets_a_polite_answer(client, telegram):
    update = tg_message(7008, "x")
    del update["message"]["text"]
    update["message"]["sticker"] = {"file_id": "abc", "emoji": "👍"}
    assert post_tg(client, update).status_code == 200
    assert "can't open files" in telegram.sent("sendMessage", 7008)[0][1]["text"]


@pytest.mark.parametrize("raw", [b"nope", b"{", b"\x00\x01"])
def test_body_that_is_not_json_is_400(client, telegram, raw):
    assert post_tg(client, raw).status_code == 400
    assert telegram.calls == []


def test_redelivered_update_is_applied_once(client, app, telegram, store):
    update = tg_message(7009, "/skills", update_id=777001)
    assert post_tg(client, update).status_code == 200
    count = len(telegram.calls)
    before = relay.load_conversation(store, "telegram:7009").to_dict()
    assert post_tg(client, update).status_code == 200
    assert len(telegram.calls) == count
    assert relay.load_conversation(store, "telegram:7009").to_dict() == before


def test_short_429_is_waited_out_in_the_request(client, telegram):
    telegram.queue(
        429,
        tg_too_many(1),
        match="sendMessage",
    )
    assert post_tg(client, tg_message(7010, "/help")).status_code == 200
    sends = telegram.sent("sendMessage", 7010)
    assert len(sends) == 2 and sends[0] == sends[1]  # the refused one, then the same again
    assert telegram.calls[1].at - telegram.calls[0].at >= 0.95


def test_long_429_is_503_and_redelivery_sends_the_rest(client, telegram):
    update = tg_message(7011, "/start", update_id=777002)
    telegram.queue(200, {"ok": True, "result": {"message_id": 1}}, match="sendMessage")
    telegram.queue(
        429,
        tg_too_many(30),
        match="sendMessage",
    )
    assert post_tg(client, update).status_code == 503
    assert post_tg(client, update).status_code == 200
    texts = [params["text"] for _, params in telegram.sent("sendMessage", 7011)]
    assert texts[0].startswith("Hi Ana!") and texts[1] == texts[2] == "Where would you like to start?"
    assert post_tg(client, update).status_code == 200
    assert len(telegram.sent("sendMessage", 7011)) == 3


def test_blocked_by_user_is_not_retried_and_marks_inactive(client, app, telegram, store):
    telegram.queue(
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
        match="sendMessage",
        times=5,
    )
    assert post_tg(client, tg_message(7012, "/start")).status_code == 200
    conv, record = relay.read("telegram:7012", store.load("telegram:7012"))
    assert conv.active is False and record.outbox == {}


def test_server_error_is_503(client, telegram):
    telegram.queue(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, match="sendMessage")
    assert post_tg(client, tg_message(7013, "/help", update_id=777003)).status_code == 503
    assert post_tg(client, tg_message(7013, "/help", update_id=777003)).status_code == 200


def test_telegram_off_without_secret(make_settings):
    import app as app_module

    application = app_module.create_app(make_settings(telegram_secret_token=None))
    assert post_tg(application.test_client(), tg_message(1, "/start")).status_code == 404


# ---------------------------------------------------------------- rendering


def record() -> DeliveryRecord:
    """Where rendering keeps the short stand-ins for long payloads: the delivery record."""
    return DeliveryRecord()


HOSTILE = ["<b>bold</b>", "Tom & Jerry", "a_b*c", "<img src=x onerror=alert(1)>", "emoji 🎉 <>&", "&amp; already"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_is_escaped_for_html_parse_mode(text):
    call = tg.render_reply(Reply(text=text), "42", record().short_payload)[0]
    assert call["params"]["parse_mode"] == "HTML"
    assert "<" not in call["params"]["text"] and ">" not in call["params"]["text"]
    assert html.unescape(call["params"]["text"]) == text


@pytest.mark.parametrize("name", HOSTILE + ["{first_name}", "{0.__class__}", "%s%n"])
def test_user_names_come_back_as_plain_text(client, telegram, name):
    post_tg(client, tg_message(7014, "/start", first_name=name))
    text = telegram.sent("sendMessage", 7014)[0][1]["text"]
    assert html.unescape(text).startswith(f"Hi {name}!")
    assert not re.search(r"<(?!/?b>)", text)


def test_card_caption_escapes_and_bolds_title():
    card = Card(
        title="A <b> & c",
        subtitle="x < y",
        image_url="/static/cards/git.png",
        buttons=[Button("Open", url="https://example.org")],
    )
    call = tg.render_reply(Reply(cards=[card]), "42", record().short_payload, "https://bot.example.test")[0]
    assert call["method"] == "sendPhoto"
    assert call["params"]["photo"] == "https://bot.example.test/static/cards/git.png"
    assert call["params"]["caption"] == "<b>A &lt;b&gt; &amp; c</b>\nx &lt; y"
    no_image = tg.render_reply(Reply(cards=[card]), "42", record().short_payload, "")[0]
    assert no_image["method"] == "sendMessage"


def test_long_text_is_split_within_4096():
    text = " ".join(f"palabra{n}" for n in range(2000)) + " " + "🎉" * 3000
    calls = tg.render_reply(Reply(text=text), "42", record().short_payload)
    assert len(calls) >= 4
    assert all(utf16_len(html.unescape(c["params"]["text"])) <= 4096 for c in calls)
    assert "".join(html.unescape(c["params"]["text"]) for c in calls).replace(" ", "") == text.replace(" ", "")


def test_long_payloads_become_short_keys_that_resolve():
    c = record()
    long_payload = "DONE:" + "x" * 100
    call = tg.render_reply(
        Reply(text="t", quick_replies=[Button("Go", payload=long_payload), Button("Ok", payload="OK")]),
        "42",
        c.short_payload,
    )[0]
    keys = [k["callback_data"] for row in call["params"]["reply_markup"]["inline_keyboard"] for k in row]
    assert all(len(k.encode()) <= 64 for k in keys)
    assert keys[1] == "OK" and c.payload_keys[keys[0]] == long_payload


def test_multibyte_payload_is_measured_in_bytes():
    c = record()
    payload = "PICK:" + "é" * 40  # 45 characters, 85 bytes
    call = tg.render_reply(Reply(text="t", buttons=[Button("é", payload=payload)]), "42", c.short_payload)[0]
    data = call["params"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert len(data.encode()) <= 64 and c.payload_keys[data] == payload


def test_short_key_round_trip_through_the_webhook(client, app, telegram, store):
    post_tg(client, tg_message(7015, "/start"))
    store = store

    # A long payload rendered for this user is remembered in their delivery record...
    def remember(doc):
        conversation, record = relay.read("telegram:7015", doc)
        short = record.short_payload("HELP")
        return Change(relay.document(conversation, record)), short

    short = store.transact("telegram:7015", remember)
    telegram.reset()
    # ...and pressing its short key runs the long payload.
    post_tg(client, tg_callback(7015, short))
    texts = [p["text"] for _, p in telegram.sent("sendMessage", 7015)]
    assert html.unescape(texts[0]).startswith("Here's how I work")


def test_json_bodies_have_no_extra_fields():
    call = tg.render_reply(Reply(text="hello", quick_replies=[Button("A", payload="A")]), "42", record().short_payload)[
        0
    ]
    assert set(call["params"]) <= {"chat_id", "text", "parse_mode", "reply_markup", "link_preview_options"}
    json.dumps(call)


@pytest.mark.parametrize(
    ("text", "opens"),
    [("/start", True), ("/START", True), ("/start@chatbot_test_bot", True), ("/start ml", True),
     ("/help", False), ("start", False), ("hi /start", False)],
)  # fmt: skip
def test_only_a_start_command_is_marked_as_opening_a_conversation(text, opens):
    # An opening event is written without a read first (the person is usually new): a wrong mark costs a
    # refused write and a read, never a lost event (tests/test_firestore.py), but should stay rare.
    update = tg.parse(tg_message(7100, text), username="chatbot_test_bot")
    assert update is not None and update.opens is opens


def test_a_card_whose_picture_telegram_cannot_fetch_goes_out_as_text(client, telegram):
    # What the Bot API answers when it cannot download a photo given by URL.
    refused = {"ok": False, "error_code": 400, "description": "Bad Request: failed to get HTTP URL content"}
    telegram.queue(400, refused, match="sendPhoto")
    for step in ("/start", "PICK:git", "LEVEL:beginner", "HOURS:8"):
        body = tg_message(7030, step) if step.startswith("/") else tg_callback(7030, step)
        assert post_tg(client, body).status_code == 200
    calls = telegram.sent(None, 7030)
    photo = next(n for n, (method, _) in enumerate(calls) if method == "sendPhoto")
    method, text = calls[photo + 1]
    assert method == "sendMessage" and text["text"] == calls[photo][1]["caption"]
    assert text["reply_markup"] == calls[photo][1]["reply_markup"]  # the step's buttons are still there


def test_waits_for_a_rate_limit_stop_where_one_send_would_outlast_its_claim(client, telegram):
    """A 429 asking for 5 s is waited out once; a second wait would take the send past its bound (20 s,
    which a claim on replies outlives), so the update is handed back (503) for Telegram to redeliver."""
    too_many = tg_too_many(5)
    telegram.queue(429, too_many, match="sendMessage", times=3)
    assert post_tg(client, tg_message(7031, "/help", update_id=777031)).status_code == 503
    assert len(telegram.sent("sendMessage", 7031)) == 2  # the first try, and one after the wait
    # The redelivery meets the third 429, waits it out once and sends: the help text arrives once.
    assert post_tg(client, tg_message(7031, "/help", update_id=777031)).status_code == 200
    statuses = [call.status for call in telegram.calls if call.path.endswith("/sendMessage")]
    assert statuses == [429, 429, 429, 200]
