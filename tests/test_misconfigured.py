"""Never acknowledge what was not recorded; a bug apologises; a misconfiguration names its fix.

Every channel, with a store that cannot be used: no credentials, nobody listening on the
emulator's port, and an exception class the code has never met. Each message gets a non-2xx
answer and nothing is sent, so the platform redelivers once the owner fixes it."""

from __future__ import annotations

import logging

import pytest
from conftest import free_port
from payloads import fb_body, fb_text, post_fb, post_tg, tg_message

import app as app_module
from chatbot.delivery import relay
from mentor import actions


class NeverSeenError(Exception):
    """Something no code path of ours knows about."""


class StoreThatExplodes:
    """A store whose every call raises an exception class nothing catches by name."""

    def __getattr__(self, name):
        def explode(*args, **kwargs):
            raise NeverSeenError(f"{name} exploded")

        return explode


@pytest.fixture
def broken_app(request, make_settings, monkeypatch, tmp_path):
    kind = request.param
    store = None
    if kind == "no-credentials":
        monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
        settings = make_settings(store_url="firestore://demo-x")
    elif kind == "nobody-listening":
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
        settings = make_settings(store_url="firestore://demo-x")
    else:
        settings, store = make_settings(), StoreThatExplodes()
    yield app_module.create_app(settings, store=store)


def send(client, channel: str):
    if channel == "messenger":
        return post_fb(client, fb_body(fb_text("psid-mis", "hi")))
    if channel == "telegram":
        return post_tg(client, tg_message(5501, "/start"))
    return client.post("/api/chat", json={"user_id": "mis", "text": "hi"})


@pytest.mark.timeout(90)
@pytest.mark.parametrize("broken_app", ["no-credentials", "nobody-listening", "never-seen"], indirect=True)
@pytest.mark.parametrize("channel", ["messenger", "telegram", "web"])
def test_a_store_that_cannot_be_used_is_never_acknowledged(broken_app, channel, graph, telegram):
    response = send(broken_app.test_client(), channel)
    assert response.status_code == 503
    assert graph.messages() == [] and telegram.sent() == []
    if channel == "web":
        assert response.get_json() == {"error": "busy, try again in a moment"}


def test_the_log_names_the_fix_for_missing_credentials(make_settings, monkeypatch, tmp_path):
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
    application = app_module.create_app(make_settings(store_url="firestore://demo-x"))
    records = collect()
    assert post_tg(application.test_client(), tg_message(5502, "/start")).status_code == 503
    line = next(r for r in records if r.getMessage() == "store failed, asking for a retry")
    assert "application-default login" in line.error and "roles/datastore.user" in line.error
    assert not any(r.exc_info for r in records)  # one line, no traceback


def collect() -> list[logging.LogRecord]:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("chatbot").addHandler(handler)
    return records


# ---------------------------------------------------------------- a bug of ours apologises


def boom(ctx):
    raise ZeroDivisionError("a bug in an action")


@pytest.mark.parametrize("channel", ["messenger", "telegram", "web"])
def test_an_action_that_raises_apologises_once_and_is_recorded(
    make_settings, store_url, each_store, monkeypatch, channel, graph, telegram
):
    monkeypatch.setitem(actions.ACTIONS, "show_catalog", boom)
    application = app_module.create_app(make_settings(store_url=store_url), store=each_store)
    client, records = application.test_client(), collect()
    if channel == "messenger":
        graph.profiles["psid-bug"] = {"first_name": "Lu", "locale": "es_ES"}
        body = fb_body(fb_text("psid-bug", "catálogo", mid="m_bug_1"))
        answers = [post_fb(client, body) for _ in range(2)]
        said = [m["message"].get("text", "") for m in graph.messages("psid-bug")]
        key = "messenger:psid-bug"
    elif channel == "telegram":
        body = tg_message(5503, "catálogo", language_code="es", update_id=550301)
        answers = [post_tg(client, body) for _ in range(2)]
        said = [p["text"] for _, p in telegram.sent("sendMessage", 5503)]
        key = "telegram:5503"
    else:
        body = {"user_id": "bug", "text": "catálogo", "locale": "es", "message_id": "w-bug-1"}
        answers = [client.post("/api/chat", json=body) for _ in range(2)]
        said = [r["text"] for r in answers[0].get_json()["replies"]]
        assert answers[1].get_json()["replies"] == []  # the redelivery says nothing again
        key = "web:bug"
    assert [a.status_code for a in answers] == [200, 200]
    assert said == [
        "Perdona, algo falló por mi parte con ese mensaje. Inténtalo de nuevo en un momento o escribe ayuda."
    ]
    conversation, record = relay.read(key, each_store.load(key))
    assert record.outbox == {} and len(record.events) == 1
    failure = next(r for r in records if r.getMessage() == "engine failed")
    assert failure.levelno == logging.ERROR and failure.exc_info and failure.intent == "browse"
    assert failure.event_id == record.events[0]
    # The conversation carries on: the next message works.
    monkeypatch.setitem(actions.ACTIONS, "show_catalog", actions.show_catalog)


# ---------------------------------------------------------------- start-up says what is missing


def test_a_half_configured_channel_is_named_with_its_missing_variables(make_settings):
    records = collect()
    settings = make_settings(telegram_secret_token=None, fb_verify_token=None)
    app_module.create_app(settings)
    lines = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert "telegram is off: half configured, set TELEGRAM_SECRET_TOKEN" in lines
    assert "messenger is off: half configured, set FB_VERIFY_TOKEN" in lines
    report = settings.channel_report()
    assert report["telegram"] == "off (set TELEGRAM_SECRET_TOKEN)"


def test_an_unknown_store_url_stops_the_server_with_one_line(make_settings):
    with pytest.raises(SystemExit) as stopped:
        app_module.create_app(make_settings(store_url="postgres://db/x"))
    assert str(stopped.value) == (
        "not starting: STORE_URL: unknown scheme 'postgres': use sqlite:///PATH or firestore://[PROJECT]"
    )


@pytest.mark.parametrize("name", ["PermissionDenied", "NotFound", "Unauthenticated", "ServiceUnavailable", "Unknown"])
def test_every_firestore_error_is_a_store_failure_and_refusals_name_the_fix(name):
    from google.api_core import exceptions

    from chatbot.store.base import StoreError, StoreUnavailable
    from chatbot.store.firestore_calls import classify

    failure = classify(getattr(exceptions, name)("from the server"))
    assert isinstance(failure, StoreUnavailable)  # answered 503 either way: nothing was recorded
    if name in ("PermissionDenied", "NotFound", "Unauthenticated"):  # a wrong project, database or role
        assert isinstance(failure, StoreError) and "roles/datastore.user" in str(failure)
