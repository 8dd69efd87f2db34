"""What a stranger can send, and what it cannot do: mangled payloads, control characters, forged
button presses, commands for another bot, group members, web identities and their limits
(SECURITY.md states each protection and its limit). The task route's OIDC checks live with its tests."""

from __future__ import annotations

import json

import pytest
from payloads import fb_body, fb_postback, fb_text, post_fb, post_tg, tg_callback

import app as app_module
from chatbot.core.logs import request_fields
from chatbot.core.text import plain_text
from chatbot.delivery import relay

# ---------------------------------------------------------------- 4. non-ASCII digits in a payload


@pytest.mark.parametrize(
    "payload", ["BROWSE:²", "SNOOZE:²", "REMIND_EVERY:²", "HOURS:٣", "PICK:../../etc", "DONE:git:"]
)
def test_mangled_payload_numbers_get_a_polite_reply_on_every_channel(client, graph, telegram, payload):
    web = client.post("/api/chat", json={"user_id": "w-digits", "payload": payload})
    assert web.status_code == 200 and web.get_json()["replies"][0]["text"]
    assert post_tg(client, tg_callback(7301, payload)).status_code == 200
    assert telegram.sent("answerCallbackQuery", 7301) or telegram.sent(None)  # the button stops spinning
    assert post_fb(client, fb_body(fb_postback("psid-digits", "x", payload))).status_code == 200
    assert graph.messages("psid-digits")


# ---------------------------------------------------------------- 6. terminal escapes in suggestions

HOSTILE = "Rust\x1b]0;pwned\x07\x1b[2J\u202eevil\u200b \x1b]8;;https://x.example\x1b\\link\x1b]8;;\x1b\\"


def test_suggestions_are_stored_and_printed_without_control_characters(app, client, store):
    client.post("/api/chat", json={"user_id": "w-esc", "payload": "SUGGEST"})
    client.post("/api/chat", json={"user_id": "w-esc", "text": HOSTILE})
    stored = store.filed("suggestions")[0]["text"]
    assert "\x1b" not in stored and "\u202e" not in stored and "\x07" not in stored
    printed = app.test_cli_runner().invoke(args=["suggestions"]).output
    assert "\x1b" not in printed and "\u202e" not in printed and "Rust" in printed


def test_plain_text_keeps_words_and_drops_controls():
    assert plain_text("a\tb\nc \x00d\u200be") == "a b c de"
    assert plain_text("¿Kubernetes? 🎉") == "¿Kubernetes? 🎉"


# ---------------------------------------------------------------- 7. X-Forwarded-For


def test_the_logged_address_is_the_one_the_front_trusted_and_never_a_direct_callers_word(app):
    from flask import request

    forwarded = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}
    # Through the front (nginx on gunicorn's unix socket: no peer address), its one address counts.
    with app.test_request_context("/", headers=forwarded, environ_base={"REMOTE_ADDR": ""}):
        assert request_fields(request)["remoteIp"] == "203.0.113.9"
    # From anyone reaching gunicorn directly, the header is their own words: the peer's address counts.
    with app.test_request_context("/", headers=forwarded, environ_base={"REMOTE_ADDR": "192.0.2.1"}):
        assert request_fields(request)["remoteIp"] == "192.0.2.1"


def test_a_client_reaching_the_server_directly_cannot_pick_its_address_to_dodge_limits(make_settings, store):
    application = app_module.create_app(make_settings(web_chat_token=WEB_TOKEN), store=store)

    def new_browser(peer: str, forwarded: str) -> int:
        headers = BEARER | {"X-Forwarded-For": forwarded}
        client = application.test_client()
        return client.post(
            "/api/chat", json={"text": "hi"}, headers=headers, environ_base={"REMOTE_ADDR": peer}
        ).status_code

    direct = [new_browser("203.0.113.7", f"198.51.100.{n}") for n in range(25)]
    assert direct[:20] == [200] * 20 and set(direct[20:]) == {429}  # one address, whatever it claims
    fronted = [new_browser("", f"198.51.100.{n}") for n in range(25)]
    assert fronted == [200] * 25  # through the front, 25 people at 25 addresses


# ---------------------------------------------------------------- 10. a body with hundreds of events


class GraphTime:
    """Time that passes 44 ms with every call to the Graph API (what made 1,000 events take 44 s),
    and not otherwise: a thousand events outlast one request's budget, seen ones cost nothing."""

    def __init__(self, graph) -> None:
        self.graph = graph

    def __call__(self) -> float:
        return 1_800_000_000.0 + len(self.graph.calls) * 0.044


def test_hundreds_of_events_in_one_body_get_a_time_budget_and_are_finished_by_redelivery(make_settings, graph, store):
    application = app_module.create_app(make_settings(), store=store, clock=GraphTime(graph))
    client = application.test_client()
    events = [fb_text(f"psid-many-{n % 40}", "help", mid=f"m_many_{n}") for n in range(400)]
    for n in range(40):
        graph.profiles[f"psid-many-{n}"] = {"first_name": "Ana"}
    body = fb_body(*events)
    answers = [post_fb(client, body).status_code for _ in range(40)]
    assert answers[0] == 503  # the budget ran out with events left: Meta redelivers the body
    assert 200 in answers  # and the redeliveries finished it
    for n in range(40):
        record = relay.read(f"messenger:psid-many-{n}", store.load(f"messenger:psid-many-{n}"))[1]
        assert len([e for e in record.events if e.startswith("m_many_")]) == 10  # every event applied once
    helps = [m for m in graph.messages() if "Here's how I work" in m["message"].get("text", "")]
    assert len(helps) == 400  # one answer per event, none twice


# ---------------------------------------------------------------- 5. forged button payloads


def web(client, user: str, **body):
    answer = client.post("/api/chat", json={"user_id": user, **body})
    assert answer.status_code == 200
    return answer.get_json()["replies"]


def test_forged_done_presses_cannot_finish_a_skill(app, client, store, skills):
    for payload in ("PICK:git", "LEVEL:beginner", "HOURS:8"):
        web(client, "w-forge", payload=payload)
    skill = next(s for s in skills.catalog if s["id"] == "git")
    for item in skill["assignments"][1:]:  # never shown: only the first was handed out
        replies = web(client, "w-forge", payload=f"DONE:git:{item['id']}")
        assert replies[0]["text"].startswith("I can only tick off an assignment I've handed you")
    progress = relay.load_conversation(store, "web:w-forge").progress["git"]
    assert progress["done"] == [] and "finished_at" not in progress
    first = skill["assignments"][0]["id"]
    web(client, "w-forge", payload=f"DONE:git:{first}")  # the one it was shown still works
    assert relay.load_conversation(store, "web:w-forge").progress["git"]["done"] == [first]


# ---------------------------------------------------------------- 8. Telegram groups

GROUP = {"id": -1005550001, "type": "supergroup", "title": "Study group"}


def in_group(body: dict) -> dict:
    key = "message" if "message" in body else "callback_query"
    message = body[key] if key == "message" else body[key]["message"]
    message["chat"] = dict(GROUP)
    return body


def test_commands_for_another_bot_are_left_alone(client, telegram):
    from payloads import tg_message

    assert post_tg(client, in_group(tg_message(7401, "/start@SomeOtherBot"))).status_code == 200
    assert telegram.sent("sendMessage") == []
    assert post_tg(client, in_group(tg_message(7401, "/start@mentor_test_bot"))).status_code == 200
    assert telegram.sent("sendMessage", str(GROUP["id"]))  # ours (getMe says who we are), answered in the group
    assert post_tg(client, in_group(tg_message(7401, "/help"))).status_code == 200  # to no bot: ours too


@pytest.mark.parametrize(
    "entities",
    [[{"type": "code", "offset": 0, "length": 19}], [], [{"type": "bold", "offset": 0, "length": 6}], "junk"],
)
def test_a_command_for_another_bot_is_left_alone_whatever_its_entities_say(client, telegram, entities):
    from payloads import tg_message

    for text in ("/start@SomeOtherBot", "/help@SomeOtherBot please"):
        body = in_group(tg_message(7406, text))
        body["message"]["entities"] = entities
        assert post_tg(client, body).status_code == 200
    assert telegram.sent("sendMessage") == []


def test_a_confirmation_acts_only_for_the_person_it_was_shown_to(client, telegram, store):
    from payloads import tg_callback, tg_message

    from chatbot.store.base import FORGOTTEN

    alice, bob = (f"telegram:{GROUP['id']}/{member}" for member in (7407, 7408))
    for member in (7407, 7408):
        post_tg(client, in_group(tg_message(member, "/start")))
        post_tg(client, in_group(tg_callback(member, "PICK:git")))
    post_tg(client, in_group(tg_message(7407, "/forget")))  # Alice asks; the buttons show in the group
    asked = json.dumps(telegram.sent("sendMessage")[-1][1])
    assert "FORGET_YES" in asked
    sent = len(telegram.sent("sendMessage"))
    assert post_tg(client, in_group(tg_callback(7408, "FORGET_YES"))).status_code == 200  # Bob taps it
    assert FORGOTTEN not in store.load(bob) and relay.load_conversation(store, bob).slots["skill"] == "git"
    assert len(telegram.sent("sendMessage")) == sent  # and nothing is said
    assert post_tg(client, in_group(tg_callback(7407, "FORGET_YES"))).status_code == 200  # Alice does
    assert FORGOTTEN in store.load(alice) and FORGOTTEN not in store.load(bob)


def test_a_yes_with_no_question_pending_deletes_nothing(client, telegram, store):
    from payloads import tg_callback, tg_message

    from chatbot.store.base import FORGOTTEN

    post_tg(client, tg_message(7409, "/start"))
    post_tg(client, tg_callback(7409, "FORGET"))
    post_tg(client, tg_callback(7409, "PICK:git"))  # asked, then went on to something else
    post_tg(client, tg_callback(7409, "FORGET_YES"))  # an old button, or a forged press
    assert FORGOTTEN not in store.load("telegram:7409")
    assert relay.load_conversation(store, "telegram:7409").slots["skill"] == "git"


def test_each_member_of_a_group_keeps_their_own_plan(app, client, telegram, store):
    from payloads import tg_callback, tg_message

    for member in (7402, 7403):
        post_tg(client, in_group(tg_message(member, "/start")))
        for payload in ("PICK:git", "LEVEL:beginner", "HOURS:8"):
            assert post_tg(client, in_group(tg_callback(member, payload))).status_code == 200
    post_tg(client, in_group(tg_callback(7403, "DROP:git")))  # one member drops: only their own plan
    post_tg(client, in_group(tg_callback(7403, "DROP_YES:git")))
    store = store
    mine = relay.load_conversation(store, f"telegram:{GROUP['id']}/7402")
    theirs = relay.load_conversation(store, f"telegram:{GROUP['id']}/7403")
    assert "git" in mine.progress and "git" not in theirs.progress
    assert all(str(body["chat_id"]) == str(GROUP["id"]) for _, body in telegram.sent("sendMessage"))


# ---------------------------------------------------------------- 2. web identity


def page_chat(client, **body):
    return client.post("/api/chat", json=body)


def test_each_browser_gets_its_own_signed_identity_and_cannot_take_another(app, store):
    alice, mallory = app.test_client(), app.test_client()
    first = page_chat(alice, payload="GET_STARTED")
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "mentor_id=" in cookie
    for payload in ("PICK:git", "LEVEL:beginner", "HOURS:8"):
        page_chat(alice, payload=payload)
    alice_id = alice.get_cookie("mentor_id").value.split(".")[0]
    assert "git" in relay.load_conversation(store, f"web:{alice_id}").progress
    # Mallory forges Alice's identity without its signature, then with a made-up one: both are refused,
    # and Mallory gets an identity of her own with an empty plan.
    for forged in (alice_id, f"{alice_id}.{'0' * 32}"):
        mallory.set_cookie("mentor_id", forged)
        replies = page_chat(mallory, payload="MY_SKILLS").get_json()["replies"]
        assert "Git" not in " ".join(r["text"] for r in replies)
    assert "git" in relay.load_conversation(store, f"web:{alice_id}").progress


WEB_TOKEN = "shared-token-123456"
BEARER = {"Authorization": f"Bearer {WEB_TOKEN}"}


def test_with_a_token_a_named_user_id_is_ignored_for_the_callers_identity(make_settings, store):
    application = app_module.create_app(make_settings(web_chat_token=WEB_TOKEN), store=store)
    alice, mallory = application.test_client(), application.test_client()
    alice.post("/api/chat", json={"user_id": "alice", "payload": "PICK:git"}, headers=BEARER)
    alice.post("/api/chat", json={"user_id": "bob", "payload": "LEVEL:beginner"}, headers=BEARER)
    mallory.post("/api/chat", json={"user_id": "alice", "payload": "DROP:git"}, headers=BEARER)
    assert store.load("web:alice") is None  # nobody got the bare name
    alice_id = alice.get_cookie("mentor_id").value.split(".")[0]
    assert relay.load_conversation(store, f"web:{alice_id}").slots["level"] == "beginner"  # one conversation


def test_one_browser_is_one_person_whatever_user_ids_it_sends(make_settings, store):
    from chatbot.owner.stats import channel_range

    application = app_module.create_app(make_settings(web_chat_token=WEB_TOKEN, flood_per_minute="20"), store=store)
    browser = application.test_client()
    answered = [
        bool(browser.post("/api/chat", json={"user_id": f"u{n}", "text": "help"}, headers=BEARER).get_json()["replies"])
        for n in range(60)
    ]
    assert sum(answered) <= 22  # one person's flood limit: 20 a minute and one warning (and a token refilled)
    assert store.count(channel_range("web")) == 1  # one person on the dashboard, not 60


def test_new_web_identities_are_rate_limited(app):
    statuses = [page_chat(app.test_client(), text="hi").status_code for _ in range(25)]
    assert statuses[:20] == [200] * 20 and set(statuses[20:]) == {429}


def test_the_api_takes_only_json(client):
    answer = client.post("/api/chat", data='{"text": "hi"}', content_type="text/plain")
    assert answer.status_code == 415  # what a cross-site form could send without asking


@pytest.mark.parametrize(
    "remote, host, status",
    [("127.0.0.1", "localhost:8080", 200), ("::1", "[::1]:8080", 200), ("10.0.0.7", "localhost", 403),
     ("127.0.0.1", "evil.example", 403), ("203.0.113.5", "bot.example.org", 403)],
)  # fmt: skip
def test_without_a_token_the_chat_answers_only_this_machine(app, remote, host, status):
    client = app.test_client()
    env = {"REMOTE_ADDR": remote}
    answer = client.post("/api/chat", json={"text": "hi"}, environ_base=env, headers={"Host": host})
    assert answer.status_code == status
    assert client.get("/", environ_base=env, headers={"Host": host}).status_code == status


def test_the_rate_limit_forgets_addresses_it_has_not_seen_for_a_minute():
    from web import Identities

    now = [0.0]
    identities = Identities(lambda: b"k" * 32, clock=lambda: now[0])
    for n in range(10_001):  # four new visitors a second, under the limits, for over forty minutes
        now[0] = n * 0.25
        identities.issue(f"10.0.{n // 256}.{n % 256}")
    # Past 10,000 addresses the table keeps only the last minute's (240 of them), not every one seen.
    assert len(identities._issued) <= 60 * 4 + 2


# ---------------------------------------------------------------- issue 35: a body nested past any parser


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000, "{", "\xff"])
def test_the_task_route_answers_a_body_it_cannot_read_with_a_400(make_settings, store, body):
    application = app_module.create_app(make_settings(tasks_token="task-token-0123456789"), store=store)
    headers = {"Authorization": "Bearer task-token-0123456789"}
    client = application.test_client()
    answer = client.post("/tasks/reminders", data=body.encode("utf-8", "surrogateescape"), headers=headers,
                         content_type="application/json")  # fmt: skip
    assert answer.status_code == 400 and b"JSON" in answer.data
    assert client.post("/tasks/reminders", json={"budget_seconds": 5}, headers=headers).status_code == 200
    assert client.post("/tasks/reminders", headers=headers).status_code == 200  # no body: the defaults


HUGE = 10**400  # JSON carries it; a float cannot


def test_a_time_too_large_for_a_float_is_unknown_not_a_crash(client, graph, telegram):
    """A platform's or a browser's timestamp of 400 digits: read as "unknown", the message answered."""
    from payloads import tg_message

    event = fb_text("psid-huge-time", "hi")
    event["timestamp"] = HUGE
    assert post_fb(client, fb_body(event)).status_code == 200 and graph.messages("psid-huge-time")
    update = tg_message(7040, "/help")
    update["message"]["date"] = HUGE
    assert post_tg(client, update).status_code == 200 and telegram.sent("sendMessage", 7040)
    raw = '{"user_id": "w-huge", "text": "hi", "sent_at": 1' + "0" * 400 + "}"
    answer = client.post("/api/chat", data=raw, content_type="application/json")
    assert answer.status_code == 200 and answer.get_json()["replies"]
