"""Platforms misbehaving and instances stopping: every reply still goes out exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests
from conftest import ROOT, free_port
from payloads import fb_body, fb_postback, fb_text, platform_env, post_fb, post_tg, tg_message
from servers import sigterm_while_answering

import fb
import tg


def test_graph_slower_than_our_timeout_is_503_inside_the_window_then_sent_once(client, graph):
    graph.profiles["psid-slow"] = {"first_name": "Ana"}
    body = fb_body(fb_postback("psid-slow", "Get Started", "GET_STARTED", mid="m_slow"))
    graph.queue(200, {"recipient_id": "psid-slow", "message_id": "m"}, match="/me/messages", delay=fb.TIMEOUT[1] + 1.5)
    started = time.monotonic()
    assert post_fb(client, body).status_code == 503
    assert time.monotonic() - started < 20  # Messenger waits 20 seconds for an answer
    assert post_fb(client, body).status_code == 200
    # The slow send may or may not have reached the user; either way each reply is recorded once
    # as sent by us: the redelivery resends only what we could not confirm.
    texts = [m["message"].get("text") for m in graph.messages("psid-slow")]
    assert texts.count("Where would you like to start?") == 1
    assert texts[-1] == "Where would you like to start?"


def test_slow_but_in_time_answers_are_fine(client, graph):
    graph.queue(200, {"recipient_id": "psid-slowish", "message_id": "m"}, match="/me/messages", delay=2.0)
    assert post_fb(client, fb_body(fb_text("psid-slowish", "help"))).status_code == 200
    assert len(graph.messages("psid-slowish")) == 1


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500},
        {"status": 502},
        {"status": 0, "drop": True},  # connection reset
        {"status": 200, "delay": tg.TIMEOUT[1] + 1.5},  # slower than our timeout: we cannot know it arrived
    ],
    ids=["500", "502", "reset", "timeout"],
)
def test_telegram_failing_mid_reply_is_503_then_each_message_sent_once(client, telegram, failure):
    update = tg_message(7401, "/start", update_id=888001)
    ok = {"ok": True, "result": {"message_id": 1, "chat": {"id": 7401}}}
    telegram.queue(200, ok, match="sendMessage")  # the greeting goes through, the menu fails
    body = ok if failure["status"] == 200 else {"ok": False, "error_code": failure["status"], "description": "x"}
    telegram.queue(
        failure["status"], body, match="sendMessage", delay=failure.get("delay", 0.0), drop=failure.get("drop", False)
    )
    started = time.monotonic()
    assert post_tg(client, update).status_code == 503
    assert time.monotonic() - started < 20
    assert post_tg(client, update).status_code == 200
    assert post_tg(client, update).status_code == 200
    texts = [body["text"] for _, body in telegram.sent("sendMessage", 7401)]
    assert texts[0].startswith("Hi Ana!") and texts.count(texts[0]) == 1
    # The failed menu was sent again once, after the platform redelivered.
    assert texts[1:] == [texts[1], texts[1]] and len(texts) == 3


@pytest.mark.slow
def test_sigterm_lets_requests_in_flight_finish(tmp_path, graph):
    port = free_port()
    env = os.environ | platform_env(graph.url, "http://127.0.0.1:9") | {
        "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "8",
        "STORE_URL": f"sqlite:///{tmp_path}/t.db", "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"], cwd=ROOT, env=env
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(base + "/health", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.05)
    statuses, code, _ = sigterm_while_answering(process, base, graph, "psid-term")
    assert code == 0
    assert statuses == [200] * 4
    for n in range(4):
        assert len(graph.messages(f"psid-term-{n}")) == 1
