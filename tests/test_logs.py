"""Logs: one JSON object per line, with severity and trace; never a token, secret or signature."""

from __future__ import annotations

import io
import json
import logging

import pytest
from conftest import free_port
from payloads import (
    FB_SECRET,
    FB_TOKEN,
    FB_VERIFY,
    TG_SECRET,
    TG_TOKEN,
    fb_body,
    fb_text,
    post_fb,
    post_tg,
    sign,
    tg_message,
)

import app as app_module
from chatbot.core import logs

WEB_TOKEN = "web-chat-token-987654321"
SECRETS = [FB_TOKEN, FB_SECRET, FB_VERIFY, TG_TOKEN, TG_SECRET, WEB_TOKEN]


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_every_line_is_json_with_severity_and_trace(make_settings, capsys):
    client = app_module.create_app(make_settings(log_level="INFO", google_cloud_project="demo-mentor")).test_client()
    client.post(
        "/webhook/telegram", data=b"{}", headers={"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"}
    )
    records = lines(capsys.readouterr().out)
    assert records and all({"severity", "message", "time"} <= set(r) for r in records)
    refused = next(r for r in records if r["message"] == "request not verified" and r["channel"] == "telegram")
    assert refused["severity"] == "WARNING"
    assert refused["logging.googleapis.com/trace"] == "projects/demo-mentor/traces/105445aa7843bc8bf206b12000100000"


@pytest.mark.parametrize(
    "headers, expected",
    [
        (
            {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
            "projects/p/traces/4bf92f3577b34da6a3ce929d0e0e4736",
        ),
        ({"X-Cloud-Trace-Context": "abc123/9"}, "projects/p/traces/abc123"),
        ({"X-Cloud-Trace-Context": "not-hex!/1"}, None),
        ({"traceparent": "garbage"}, None),
        ({}, None),
    ],
)
def test_trace_headers(headers, expected):
    assert logs.trace_from_headers(headers, "p") == expected


def test_known_secrets_are_scrubbed_from_any_line():
    stream = io.StringIO()
    logger = logs.setup("INFO", secrets=lambda: [TG_TOKEN], stream=stream)
    logger.info("calling https://api.telegram.org/bot%s/sendMessage", TG_TOKEN, extra={"url": f"/bot{TG_TOKEN}/x"})
    assert TG_TOKEN not in stream.getvalue() and "[redacted]" in stream.getvalue()
    logging.getLogger("chatbot").handlers.clear()


def test_no_secret_in_logs_or_responses_through_a_bad_day(make_settings, graph, capsys):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: every Telegram call fails
    settings = make_settings(web_chat_token=WEB_TOKEN, telegram_api_url=dead, log_level="DEBUG")
    client = app_module.create_app(settings).test_client()
    bodies = []
    # Handshakes right and wrong (the verify token travels in the query string).
    bodies.append(
        client.get(
            "/webhook/messenger",
            query_string={"hub.mode": "subscribe", "hub.verify_token": FB_VERIFY, "hub.challenge": "1"},
        ).data
    )
    bodies.append(
        client.get(
            "/webhook/messenger", query_string={"hub.mode": "subscribe", "hub.verify_token": FB_VERIFY + "x"}
        ).data
    )
    # Signed, forged and failing webhooks; a Graph refusal; a dead Telegram.
    raw = json.dumps(fb_body(fb_text("psid-log", "hi"))).encode()
    bodies.append(post_fb(client, raw, signature=sign(raw)).data)
    bodies.append(post_fb(client, raw, signature=sign(raw, "wrong")).data)
    graph.queue(
        400,
        {"error": {"message": f"Invalid OAuth access token {FB_TOKEN}", "code": 190}},
        match="/me/messages",
        times=5,
    )
    bodies.append(post_fb(client, json.dumps(fb_body(fb_text("psid-log", "help"))).encode()).data)
    bodies.append(post_tg(client, tg_message(1234, "/start")).data)
    bodies.append(post_tg(client, tg_message(1234, "/start"), secret=TG_SECRET + "x").data)
    bodies.append(client.post("/api/chat", json={"user_id": "u", "text": "hi"}).data)
    bodies.append(
        client.post(
            "/api/chat", json={"user_id": "u", "text": "hi"}, headers={"Authorization": "Bearer " + WEB_TOKEN}
        ).data
    )
    bodies.append(
        client.post(
            "/api/chat", json={"user_id": "u", "text": "hi"}, headers={"Authorization": "Bearer " + WEB_TOKEN + "x"}
        ).data
    )
    out = capsys.readouterr()
    text = out.out + out.err + "".join(b.decode(errors="replace") for b in bodies)
    assert "network error: ConnectionError" in text  # the Telegram failure was logged...
    for secret in SECRETS:
        assert secret not in text  # ...without the token in its URL, and no other secret anywhere
    assert "sha256=" not in text  # nor a signature


def test_debug_is_off_whatever_the_environment(make_settings, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    application = app_module.create_app(make_settings())
    assert application.debug is False
    response = application.test_client().post("/webhook/telegram", data=b"x" * 10)
    assert b"Traceback" not in response.data


def test_an_extra_field_named_like_a_records_own_is_logged_not_raised():
    """``thread``, ``name`` or ``message`` in ``extra`` would make logging itself raise (a KeyError,
    which once turned every message in the owner's group into a 503): they are kept with a "_"."""
    stream = io.StringIO()
    logs.setup("INFO", stream=stream)
    logs.get().info("routed", extra={"thread": 42, "name": "Ana", "message": "hi", "channel": "telegram"})
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["message"] == "routed" and entry["thread_"] == 42 and entry["name_"] == "Ana"
    assert entry["message_"] == "hi" and entry["channel"] == "telegram"
