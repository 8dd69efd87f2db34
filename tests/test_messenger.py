"""Messenger: handshake, signatures, parsing, the Send API calls, limits, failures."""

from __future__ import annotations

import json
import threading
import time

import pytest
from conftest import CATALOG_PAGES
from payloads import FB_TOKEN, FB_VERIFY, fb_body, fb_postback, fb_quick_reply, fb_text, post_fb, sign

import fb
from chatbot.core.text import utf16_len
from chatbot.delivery import relay
from chatbot.delivery.record import PENDING_PATIENCE
from chatbot.engine.skills import LIMITS
from chatbot.engine.types import Button, Card, Reply
from chatbot.store.base import Change


@pytest.mark.parametrize(
    "args, status",
    [
        ({"hub.mode": "subscribe", "hub.verify_token": FB_VERIFY, "hub.challenge": "1158201444"}, 200),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, 403),
        ({"hub.mode": "unsubscribe", "hub.verify_token": FB_VERIFY, "hub.challenge": "1"}, 403),
        ({"hub.verify_token": FB_VERIFY, "hub.challenge": "1"}, 403),
        ({}, 403),
    ],
)
def test_handshake(client, args, status):
    response = client.get("/webhook/messenger", query_string=args)
    assert response.status_code == status
    if status == 200:
        assert response.get_data(as_text=True) == "1158201444"


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=" + "0" * 64,
        "sha1=0123456789abcdef0123456789abcdef01234567",
        "sha256=",
        "md5=abc",
    ],
)
def test_bad_signature_is_403_and_touches_nothing(client, app, graph, signature, store):
    body = fb_body(fb_text("psid-sig", "hi"))
    response = post_fb(client, body, signature=signature)
    assert response.status_code == 403
    assert graph.calls == []
    assert relay.load_conversation(store, "messenger:psid-sig") is None


def test_signature_from_another_secret_is_refused(client, graph):
    raw = json.dumps(fb_body(fb_text("psid-x", "hi"))).encode()
    assert post_fb(client, raw, signature=sign(raw, "another-secret")).status_code == 403
    assert graph.calls == []


def test_signature_covers_the_raw_bytes(client, graph):
    raw = json.dumps(fb_body(fb_text("psid-raw", "hi"))).encode()
    signature = sign(raw)
    reformatted = json.dumps(json.loads(raw), indent=2).encode()  # same JSON, other bytes
    assert post_fb(client, reformatted, signature=signature).status_code == 403
    assert post_fb(client, raw, signature=signature).status_code == 200


def test_first_reply_does_not_wait_for_the_profile_and_the_next_uses_it(client, graph):
    # The Graph API takes a whole second to answer the profile lookup.
    graph.queue(200, {"first_name": "Ana", "locale": "en_US"}, match="/psid-1", delay=1.0)
    response = post_fb(client, fb_body(fb_postback("psid-1", "Get Started", "GET_STARTED")))
    assert response.status_code == 200
    sent = graph.messages("psid-1")
    # Every reply went out while the lookup was still waiting for its answer; none said a name yet.
    assert sent[0]["message"]["text"].startswith("Hi there!")
    lookup = next(c for c in graph.calls if c.method == "GET")
    sends = [c for c in graph.calls if c.method == "POST"]
    assert sends and all(c.at < lookup.at + 0.9 for c in sends)
    assert len(sends) >= 2 and sends[0].at < lookup.at  # asked once the first reply is out, not competing with it
    post_fb(client, fb_body(fb_postback("psid-1", "Get Started", "GET_STARTED")))
    assert graph.messages("psid-1")[len(sent)]["message"]["text"].startswith("Hi Ana!")
    sent = graph.messages("psid-1")
    assert all(body["messaging_type"] == "RESPONSE" for body in sent)  # answers; a reminder is an UPDATE
    posts = [c for c in graph.calls if c.method == "POST"]
    assert all(c.path == "/v25.0/me/messages" and c.query["access_token"] == FB_TOKEN for c in posts)
    assert [q["payload"] for q in sent[-1]["message"]["quick_replies"]] == ["BROWSE", "MY_SKILLS", "SUGGEST", "HELP"]


def test_profile_is_looked_up_once_and_cached(client, graph):
    graph.profiles["psid-2"] = {"first_name": "Bea", "locale": "es_ES"}
    post_fb(client, fb_body(fb_text("psid-2", "hola")))
    post_fb(client, fb_body(fb_text("psid-2", "hola")))
    post_fb(client, fb_body(fb_text("psid-2", "hola")))
    lookups = [c for c in graph.calls if c.method == "GET"]
    assert len(lookups) == 1
    assert graph.messages("psid-2")[-2]["message"]["text"].startswith("¡Hola, Bea!")  # locale es_ES from the profile


def test_a_first_message_in_spanish_is_answered_in_spanish_before_the_profile_is_known(client, graph):
    graph.queue(200, {"first_name": "Bea", "locale": "en_US"}, match="/psid-es", delay=0.5)
    post_fb(client, fb_body(fb_text("psid-es", "¡hola!")))
    assert graph.messages("psid-es")[0]["message"]["text"].startswith("¡Hola, amigo!")
    # An English greeting from someone not known yet reads in English; the default language wins a tie.
    graph.profiles["psid-en"] = {"first_name": "Cy"}
    post_fb(client, fb_body(fb_text("psid-en", "hello")))
    assert graph.messages("psid-en")[0]["message"]["text"].startswith("Hi there!")
    # Once the profile is in, its locale is only a prior: "hola" is Spanish whatever it says (issue 36).
    post_fb(client, fb_body(fb_text("psid-es", "hola")))
    assert graph.messages("psid-es")[-2]["message"]["text"].startswith("¡Hola, Bea!")


def test_profile_denied_is_tolerated(client, graph):
    # No profile registered: the fake answers a permissions error for both lookups.
    response = post_fb(client, fb_body(fb_text("psid-3", "hi")))
    assert response.status_code == 200
    assert graph.messages("psid-3")[0]["message"]["text"].startswith("Hi there!")
    assert len([c for c in graph.calls if c.method == "GET"]) == 3  # with time zone, with locale, first_name alone
    post_fb(client, fb_body(fb_text("psid-3", "help")))
    assert len([c for c in graph.calls if c.method == "GET"]) == 3  # not asked again


def test_profile_lookup_network_failure_is_tolerated(client, graph):
    graph.queue(0, drop=True, match="/psid-4")
    assert post_fb(client, fb_body(fb_text("psid-4", "hi"))).status_code == 200
    assert graph.messages("psid-4")[0]["message"]["text"].startswith("Hi there!")


def test_every_entry_and_every_event_is_handled_in_order(client, graph):
    body = {
        "object": "page",
        "entry": [
            {"id": "1", "time": 1, "messaging": [fb_text("psid-a", "hi"), fb_text("psid-b", "help")]},
            {"id": "1", "time": 2, "messaging": [fb_text("psid-a", "help")]},
        ],
    }
    assert post_fb(client, body).status_code == 200
    a_texts = [m["message"].get("text", "") for m in graph.messages("psid-a")]
    assert a_texts[0].startswith("Hi there!") and a_texts[-1].startswith("Here's how I work")
    assert graph.messages("psid-b")[0]["message"]["text"].startswith("Here's how I work")


@pytest.mark.parametrize(
    "event",
    [
        {
            "sender": {"id": "psid-e"},
            "recipient": {"id": "1"},
            "timestamp": 1,
            "message": {"mid": "m_echo", "is_echo": True, "text": "hi", "app_id": 1},
        },
        {"sender": {"id": "psid-e"}, "recipient": {"id": "1"}, "timestamp": 1, "read": {"watermark": 1732450000000}},
        {
            "sender": {"id": "psid-e"},
            "recipient": {"id": "1"},
            "timestamp": 1,
            "delivery": {"mids": ["m_1"], "watermark": 1},
        },
        {
            "sender": {"id": "psid-e"},
            "recipient": {"id": "1"},
            "timestamp": 1,
            "reaction": {"mid": "m_1", "action": "react", "emoji": "❤"},
        },
        {"recipient": {"id": "1"}, "timestamp": 1, "message": {"mid": "m_nosender", "text": "hi"}},
    ],
    ids=["echo", "read", "delivery", "reaction", "no-sender"],
)
def test_events_that_are_not_user_messages_are_ignored(client, graph, event):
    assert post_fb(client, fb_body(event)).status_code == 200
    assert graph.messages() == []


def test_attachment_gets_a_polite_answer(client, graph):
    event = fb_text("psid-att", "")
    event["message"] = {
        "mid": "m_att",
        "attachments": [{"type": "image", "payload": {"url": "https://example.test/cat.jpg"}}],
    }
    assert post_fb(client, fb_body(event)).status_code == 200
    assert "can't open files" in graph.messages("psid-att")[0]["message"]["text"]


def test_quick_reply_payload_wins_over_its_title(client, graph):
    post_fb(client, fb_body(fb_quick_reply("psid-q", "whatever", "BROWSE")))
    texts = [m["message"].get("text", "") for m in graph.messages("psid-q")]
    assert texts[0].startswith("Here's what you can learn")


@pytest.mark.parametrize("raw", [b"not json", b"{", b"\xff\xfe", b""])
def test_signed_body_that_is_not_json_is_400(client, raw, graph):
    assert post_fb(client, raw).status_code == 400
    assert graph.calls == []


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        42,
        None,
        {"object": "instagram", "entry": []},
        {"object": "page", "entry": "x"},
        {"object": "page"},
        {"object": "page", "entry": 18464053029923},
        {"object": "page", "entry": [{"messaging": 7}]},
    ],
)
def test_unexpected_json_is_200(client, body, graph):
    assert post_fb(client, json.dumps(body).encode()).status_code == 200
    assert graph.messages() == []


def test_redelivery_changes_nothing_and_sends_nothing(client, app, graph, store):
    body = fb_body(fb_text("psid-r", "browse", mid="m_redeliver"))
    assert post_fb(client, body).status_code == 200
    first = len(graph.messages("psid-r"))
    before = relay.load_conversation(store, "messenger:psid-r").to_dict()
    for _ in range(3):
        assert post_fb(client, body).status_code == 200
    assert len(graph.messages("psid-r")) == first
    assert relay.load_conversation(store, "messenger:psid-r").to_dict() == before


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500},
        {"status": 503},
        {"status": 0, "drop": True},
        {
            "status": 400,
            "body": {"error": {"code": 2, "is_transient": True, "message": "Service temporarily unavailable"}},
        },
    ],
)
def test_failed_send_is_503_and_redelivery_sends_only_the_rest(client, graph, failure):
    graph.profiles["psid-f"] = {"first_name": "Ana"}
    body = fb_body(fb_postback("psid-f", "Get Started", "GET_STARTED", mid="m_fail"))
    # Let the first message through, fail the second.
    post_ok = {"recipient_id": "psid-f", "message_id": "m_ok"}
    graph.queue(200, post_ok, match="/me/messages")
    graph.queue(failure.get("status", 500), failure.get("body"), match="/me/messages", drop=failure.get("drop", False))
    assert post_fb(client, body).status_code == 503
    assert post_fb(client, body).status_code == 200
    texts = [m["message"].get("text") for m in graph.messages("psid-f")]
    # welcome, welcome_menu(failed), welcome_menu(resent): each reply delivered exactly once.
    assert texts[0].startswith("Hi there!")
    assert texts[1:] == ["Where would you like to start?", "Where would you like to start?"]
    assert post_fb(client, body).status_code == 200
    assert len(graph.messages("psid-f")) == 3


def test_permanent_refusal_is_logged_and_not_retried(client, graph):
    graph.queue(400, {"error": {"message": "(#100) Invalid parameter", "code": 100}}, match="/me/messages", times=10)
    assert post_fb(client, fb_body(fb_text("psid-p", "hi"))).status_code == 200
    attempts = len(graph.messages("psid-p"))
    assert post_fb(client, fb_body(fb_text("psid-p", "hi", mid="m_other"))).status_code == 200
    assert len(graph.messages("psid-p")) == attempts * 2  # the first event's messages were not resent


def test_messenger_off_without_credentials(make_settings):
    import app as app_module

    application = app_module.create_app(make_settings(fb_app_secret=None))
    client = application.test_client()
    assert client.get("/webhook/messenger", query_string={"hub.mode": "subscribe"}).status_code == 404
    assert post_fb(client, fb_body(fb_text("x", "hi"))).status_code == 404
    assert client.get("/health").status_code == 200


# ---------------------------------------------------------------- rendering limits


def flatten(messages: list[dict]) -> dict:
    """Everything a person would see, to prove nothing was cut."""
    texts, buttons, quick, elements = [], [], [], []
    for message in messages:
        if "text" in message:
            texts.append(message["text"])
        payload = message.get("attachment", {}).get("payload", {})
        if payload.get("template_type") == "button":
            texts.append(payload["text"])
            buttons += payload["buttons"]
        if payload.get("template_type") == "generic":
            elements += payload["elements"]
        quick += message.get("quick_replies", [])
    return {"texts": texts, "buttons": buttons, "quick": quick, "elements": elements}


def assert_within_limits(messages: list[dict]) -> None:
    for message in messages:
        assert set(message) <= {"text", "attachment", "quick_replies"}
        if "text" in message:
            assert 0 < utf16_len(message["text"]) <= LIMITS["text"]
        assert len(message.get("quick_replies", [])) <= LIMITS["quick_replies"]
        for q in message.get("quick_replies", []):
            assert utf16_len(q["title"]) <= 20 and len(q["payload"]) <= 1000
        payload = message.get("attachment", {}).get("payload", {})
        if payload.get("template_type") == "button":
            assert 0 < utf16_len(payload["text"]) <= 640
            assert 1 <= len(payload["buttons"]) <= 3
        if payload.get("template_type") == "generic":
            assert 1 <= len(payload["elements"]) <= 10
            for element in payload["elements"]:
                assert utf16_len(element["title"]) <= 80
                assert utf16_len(element.get("subtitle", "")) <= 80
                assert len(element.get("buttons", [])) <= 3
        for button in payload.get("buttons", []):
            assert utf16_len(button["title"]) <= 20


WORDS = " ".join(f"word{n}" for n in range(1500))  # ~10k characters


@pytest.mark.parametrize(
    "reply",
    [
        Reply(text=WORDS),
        Reply(text="🙂" * 3000),
        Reply(text="x" * 4500),
        Reply(text=WORDS, buttons=[Button(f"Option {n}", payload=f"OPT:{n}") for n in range(7)]),
        Reply(text="short", quick_replies=[Button(f"Choice number {n} is long", payload=f"C:{n}") for n in range(30)]),
        Reply(cards=[Card(title="T" * 120, subtitle="S" * 200, image_url="/static/cards/git.png") for _ in range(23)]),
        Reply(cards=[Card(title="one", buttons=[Button("b", payload="B")])], quick_replies=[Button("q", payload="Q")]),
        Reply(quick_replies=[Button("q", payload="Q")]),
    ],
    ids=[
        "long-text",
        "emoji-text",
        "no-spaces",
        "text-and-7-buttons",
        "30-quick-replies",
        "23-cards",
        "card+quick",
        "quick-only",
    ],
)
def test_rendering_never_exceeds_a_limit_and_never_cuts(reply):
    messages = fb.render_reply(reply, "https://bot.example.test")
    assert_within_limits(messages)
    seen = flatten(messages)
    if reply.text:
        assert " ".join(" ".join(seen["texts"]).split()).replace(" …", "").startswith(" ".join(reply.text.split())[:50])
        original = "".join(reply.text.split())
        assert original in "".join("".join(t for t in seen["texts"] if t != "…").split())
    payloads = [b.get("payload") for b in seen["buttons"]] + [q["payload"] for q in seen["quick"]]
    for button in reply.buttons + reply.quick_replies:
        assert button.payload in payloads
    assert len(seen["elements"]) == len(reply.cards)


def test_long_text_splits_at_word_boundaries():
    messages = fb.render_reply(Reply(text=WORDS))
    for message in messages:
        assert message["text"].split(" ")[0].startswith("word") and message["text"].split(" ")[-1].startswith("word")
    assert " ".join(m["text"] for m in messages) == WORDS


def test_card_images_are_absolute_or_left_out():
    card = Card(title="t", image_url="/static/cards/git.png", url="https://example.org/x")
    with_public = fb.render_reply(Reply(cards=[card]), "https://bot.example.test")
    element = with_public[0]["attachment"]["payload"]["elements"][0]
    assert element["image_url"] == "https://bot.example.test/static/cards/git.png"
    assert element["default_action"] == {"type": "web_url", "url": "https://example.org/x"}
    without = fb.render_reply(Reply(cards=[card]), "")
    assert "image_url" not in without[0]["attachment"]["payload"]["elements"][0]


def test_a_page_refused_the_time_zone_still_gets_the_language(client, graph):
    graph.profiles["psid-notz"] = {"first_name": "Bea", "locale": "es_ES"}
    graph.queue(400, {"error": {"message": "(#100) Tried accessing nonexisting field (timezone)", "code": 100}},
                match="/psid-notz")  # fmt: skip
    post_fb(client, fb_body(fb_text("psid-notz", "hola")))
    post_fb(client, fb_body(fb_text("psid-notz", "hola")))
    assert graph.messages("psid-notz")[-2]["message"]["text"].startswith("¡Hola, Bea!")


PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def test_sends_go_through_a_proxy_the_environment_names_and_straight_out_without_one(monkeypatch, graph):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from chatbot.core import outbound

    relayed = []

    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self):  # a forward proxy receives the whole URL
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            relayed.append(self.path)
            body = b'{"message_id": "m_via_proxy"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    url = graph.url + "/v25.0/me/messages"
    try:
        for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")
        assert outbound.post_json(outbound.new_session(), url, {"hello": 1}) == (200, {"message_id": "m_via_proxy"})
        assert relayed == [url] and not graph.calls
        monkeypatch.delenv("HTTP_PROXY")
        outbound.post_json(outbound.new_session(), url, {"hello": 2}, params={"access_token": FB_TOKEN})
        assert relayed == [url] and len(graph.calls) == 1  # straight to the Graph API
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_only_the_get_started_tap_is_marked_as_opening_a_conversation():
    events = [
        fb_postback("psid-o", "Get Started", "GET_STARTED", mid="m_o1"),
        fb_postback("psid-o", "Browse", "BROWSE", mid="m_o2"),
        fb_text("psid-o", "GET_STARTED", mid="m_o3"),
        fb_quick_reply("psid-o", "Start", "GET_STARTED", mid="m_o4"),
    ]
    assert [update.opens for update in fb.parse(fb_body(*events))] == [True, False, False, False]


def claim_outbox(store, key: str, claim: str, lease_until: float) -> None:
    """Put every queued reply of ``key`` under another delivery's claim, as that delivery would."""

    def step(doc):
        conv, record = relay.read(key, doc)
        for entry in record.outbox.values():
            entry["claim"], entry["lease_until"] = claim, lease_until
        return Change(relay.document(conv, record)), None

    store.transact(key, step)


def test_replies_held_by_a_delivery_that_gave_up_go_out_on_a_later_redelivery_once(client, app, graph, store):
    # A delivery whose write landed after it stopped waiting (the store stalled, it answered 503) leaves
    # its replies under its claim. The platform's redelivery must not answer 200 for replies nobody is
    # sending: it answers 503 until the claim runs out, then sends them, once.
    store, key = store, "messenger:psid-gone"
    body = fb_body(fb_text("psid-gone", "browse", mid="m_gone"))
    graph.queue(500, {"error": {"message": "oops", "code": 1}}, match="/me/messages")
    assert post_fb(client, body).status_code == 503  # recorded, the reply queued, nothing sent

    sent = len(graph.messages("psid-gone"))
    claim_outbox(store, key, "a-delivery-that-gave-up", store.now() + relay.LEASE_SECONDS)
    assert post_fb(client, body).status_code == 503
    assert len(graph.messages("psid-gone")) == sent
    claim_outbox(store, key, "a-delivery-that-gave-up", store.now() - 1)  # the claim has run out
    assert post_fb(client, body).status_code == 200
    out = graph.messages("psid-gone")[sent:]
    assert post_fb(client, body).status_code == 200
    assert graph.messages("psid-gone")[sent:] == out  # nothing more
    assert len([m for m in out if f"page 1 of {CATALOG_PAGES}" in m["message"].get("text", "")]) == 1
    assert len({json.dumps(m, sort_keys=True) for m in out}) == len(out)  # each reply once


def test_a_twin_that_finishes_sending_meanwhile_lets_the_redelivery_answer_200(client, app, graph, store):
    # The same event delivered twice at once: one delivery holds the replies and sends them; the other
    # waits a moment for it to finish rather than send the platform back for nothing.
    store, key = store, "messenger:psid-twin"
    body = fb_body(fb_text("psid-twin", "browse", mid="m_twin"))
    graph.queue(500, {"error": {"message": "oops", "code": 1}}, match="/me/messages")
    assert post_fb(client, body).status_code == 503

    def the_twin_sent_them(doc):
        conv, record = relay.read(key, doc)
        record.outbox.clear()
        return Change(relay.document(conv, record)), None

    claim_outbox(store, key, "the-twin", store.now() + relay.LEASE_SECONDS)
    sent = len(graph.messages("psid-twin"))
    twin = threading.Timer(0.5, lambda: store.transact(key, the_twin_sent_them))
    twin.start()
    started = time.monotonic()
    assert post_fb(client, body).status_code == 200
    twin.join()
    assert 0.5 <= time.monotonic() - started < PENDING_PATIENCE + 1
    assert len(graph.messages("psid-twin")) == sent  # sent by the twin, not again


@pytest.mark.parametrize("failed_first", [True, False])
def test_a_batch_with_a_failed_send_and_replies_held_elsewhere_says_send_failed(
    client, app, graph, failed_first, store
):
    # The 503's text is what an owner reads in the platform's delivery log: a send that failed outranks
    # a wait on another delivery, whichever event of the batch came last.
    store, key = store, "messenger:psid-held"
    graph.queue(500, {"error": {"message": "oops", "code": 1}}, match="/me/messages")
    held = fb_text("psid-held", "browse", mid="m_held")
    assert post_fb(client, fb_body(held)).status_code == 503

    claim_outbox(store, key, "another-delivery", store.now() + relay.LEASE_SECONDS)
    graph.queue(500, {"error": {"message": "oops", "code": 1}}, match="/me/messages")
    failing = fb_text("psid-fails", "browse", mid="m_fails")
    response = post_fb(client, fb_body(*([failing, held] if failed_first else [held, failing])))
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "send failed, retry later\n"
