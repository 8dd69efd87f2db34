"""The web chat API and page: contract, validation, token rules, and the routes around them."""

from __future__ import annotations

import pytest

import app as app_module
from chatbot.delivery import relay


def test_chat_api_contract(client):
    response = client.post("/api/chat", json={"user_id": "u-1", "payload": "GET_STARTED"})
    assert response.status_code == 200
    replies = response.get_json()["replies"]
    assert replies[0]["text"].startswith("Hi there!")
    assert set(replies[0]) == {"text", "quick_replies", "buttons", "cards"}
    response = client.post("/api/chat", json={"user_id": "u-1", "text": "catálogo", "locale": "es"})
    cards = [c for r in response.get_json()["replies"] for c in r["cards"]]
    assert cards[0] == {
        "title": "Python",
        "subtitle": "Escribe scripts y programas pequeños que resuelven tareas reales.",
        "image_url": "/static/cards/python.png",
        "url": "",
        "buttons": [{"title": "Aprender", "payload": "PICK:python"}],
    }


@pytest.mark.parametrize("user_id", ["alice@example.com", "conformance:user/1", "Zoë 🎉", 12345, "a" * 128])
def test_any_reasonable_user_id_is_accepted(client, app, user_id, store):
    response = client.post("/api/chat", json={"user_id": user_id, "text": "hi"})
    assert response.status_code == 200 and response.get_json()["replies"]
    assert relay.load_conversation(store, f"web:{user_id}") is not None


def test_same_message_id_twice_answers_once(client, app):
    body = {"user_id": "u-2", "text": "browse", "message_id": "client-msg-1"}
    first = client.post("/api/chat", json=body).get_json()["replies"]
    again = client.post("/api/chat", json=body).get_json()["replies"]
    assert first and again == []


@pytest.mark.parametrize(
    "body, message",
    [
        ({"user_id": "", "text": "hi"}, "user_id"),
        ({"user_id": "a\nb", "text": "hi"}, "user_id"),
        ({"user_id": "x" * 129, "text": "hi"}, "user_id"),
        ({"user_id": True, "text": "hi"}, "user_id"),
        ({"user_id": 1.5, "text": "hi"}, "user_id"),
        ({"user_id": "u"}, "exactly one"),
        ({"user_id": "u", "text": "hi", "payload": "HELP"}, "exactly one"),
        ({"user_id": "u", "text": ""}, "text"),
        ({"user_id": "u", "text": "   "}, "text"),
        ({"user_id": "u", "text": ["hi"]}, "text"),
        ({"user_id": "u", "text": "x" * 4001}, "text"),
        ({"user_id": "u", "payload": ""}, "payload"),
        ({"user_id": "u", "payload": {"a": 1}}, "payload"),
        ({"user_id": "u", "text": "hi", "locale": 7}, "locale"),
        ({"user_id": "u", "text": "hi", "message_id": 7}, "message_id"),
        ({"user_id": "u", "text": "hi", "first_name": ["x"]}, "first_name"),
        ([], "object"),
        ("hi", "object"),
    ],
)
def test_bad_requests_are_400_with_a_reason(client, body, message):
    response = client.post("/api/chat", json=body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]


@pytest.mark.parametrize("raw", [b"not json", b"{", b"\xff"])
def test_non_json_is_400(client, raw):
    response = client.post("/api/chat", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"] == "body must be JSON"


def test_unknown_payload_gets_a_polite_reply(client):
    replies = client.post("/api/chat", json={"user_id": "u-3", "payload": "NOT_A_THING:1:2"}).get_json()["replies"]
    assert replies[0]["text"].startswith("I didn't quite get that") and replies[0]["quick_replies"]


def test_page_and_assets(client):
    page = client.get("/")
    assert page.status_code == 200 and b"/static/chat.js" in page.data
    assert client.get("/static/chat.js").status_code == 200
    assert client.get("/static/cards/git.png").mimetype == "image/png"


def test_token_protects_page_and_api(make_settings):
    client = app_module.create_app(make_settings(web_chat_token="s3cret-token-value")).test_client()
    page = client.get("/")
    assert page.status_code == 401 and b"WEB_CHAT_TOKEN" in page.data  # the page asks for the token
    assert page.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/api/chat", json={"user_id": "u", "text": "hi"}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post("/api/chat", json={"user_id": "u", "text": "hi"}, headers=wrong).status_code == 401
    right = {"Authorization": "Bearer s3cret-token-value"}
    assert client.get("/", headers=right).status_code == 200
    assert client.post("/api/chat", json={"user_id": "u", "text": "hi"}, headers=right).status_code == 200


def test_on_cloud_run_the_web_chat_is_off_without_a_token(make_settings):
    client = app_module.create_app(make_settings(k_service="mentor")).test_client()
    assert client.get("/health").get_json()["channels"] == ["messenger", "telegram"]  # what the smoke test reads
    assert client.get("/").status_code == 404
    assert client.post("/api/chat", json={"user_id": "u", "text": "hi"}).status_code == 404
    assert client.get("/health").status_code == 200
    with_token = app_module.create_app(make_settings(k_service="mentor", web_chat_token="tok-123456")).test_client()
    headers = {"Authorization": "Bearer tok-123456"}
    assert with_token.post("/api/chat", json={"user_id": "u", "text": "hi"}, headers=headers).status_code == 200


def test_health_does_not_touch_the_store(make_settings, tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where a folder should be")
    client = app_module.create_app(make_settings(store_url=f"sqlite:///{blocked}/sub/chatbot.db")).test_client()
    assert client.get("/health").get_json() == {"status": "ok", "channels": ["messenger", "telegram", "web"]}
    # The store is broken, and a message says so cleanly instead of crashing.
    assert client.post("/api/chat", json={"user_id": "u", "text": "hi"}).status_code == 503


def test_body_over_the_limit_is_413(client):
    response = client.post("/api/chat", data=b"{" + b" " * (1024 * 1024 + 10) + b"}", content_type="application/json")
    assert response.status_code == 413


@pytest.mark.parametrize(
    "path, method", [("/webhook/messenger", "put"), ("/api/chat", "get"), ("/health", "post"), ("/nowhere", "get")]
)
def test_wrong_routes_and_methods_are_4xx(client, path, method):
    assert 400 <= getattr(client, method)(path).status_code < 500


def test_history_is_this_browsers_last_messages_only(app):
    alice, bob = app.test_client(), app.test_client()
    alice.post("/api/chat", json={"payload": "GET_STARTED"})
    alice.post("/api/chat", json={"payload": "BROWSE", "label": "Browse skills"})
    alice.post("/api/chat", json={"text": "help"})
    history = alice.get("/api/history").get_json()
    said = [e["text"] for e in history["transcript"] if e["from"] == "person"]
    assert said == ["Browse skills", "help"] and history["transcript"][0]["from"] == "bot"
    assert [lang["code"] for lang in history["languages"]] == ["en", "es"]
    assert bob.get("/api/history").get_json()["transcript"] == []  # another browser sees nothing of it
    for n in range(60):
        alice.post("/api/chat", json={"text": f"hi {n}"})
    assert len(alice.get("/api/history").get_json()["transcript"]) == 50  # the last fifty entries


def test_history_needs_the_token_when_one_is_set(make_settings):
    client = app_module.create_app(make_settings(web_chat_token="tok-123456")).test_client()
    assert client.get("/api/history").status_code == 401
    assert client.get("/api/history", headers={"Authorization": "Bearer tok-123456"}).status_code == 200
