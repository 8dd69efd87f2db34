"""Golden transcripts: the same mentor journey, step by step, on Messenger, Telegram and the web."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from transcript import MessengerUser, TelegramUser, WebUser, as_golden, mentor_journey

from chatbot.delivery import relay

GOLDEN = Path(__file__).parent / "golden" / "mentor_journey.txt"


def check_golden(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


@pytest.fixture(params=["messenger", "telegram", "web"])
def user(request, store_app, graph, telegram):
    client = store_app.test_client()
    if request.param == "messenger":
        graph.profiles["psid-journey"] = {"first_name": "Ana", "locale": "en_US"}
        return MessengerUser(client, graph, "psid-journey")
    if request.param == "telegram":
        return TelegramUser(client, telegram, 880001, first_name="Ana", language_code="en")
    return WebUser(client, "web-journey", first_name="Ana")


def test_mentor_journey_reads_the_same_on_every_channel(user, each_store):
    transcript = mentor_journey(user)
    assert set(user.statuses) == {200}
    # Messenger alone says, once, how its 24-hour window shapes reminders; the rest reads the same everywhere.
    channel = {MessengerUser: "messenger", TelegramUser: "telegram", WebUser: "web"}[type(user)]
    lines, window = as_golden(transcript, channel)
    assert len(window) == (1 if channel == "messenger" else 0)
    if channel == "messenger":  # the first greeting went out before the profile lookup answered
        assert next(line for line in transcript if line.startswith("text: ")).startswith("text: Hi there! ")
    check_golden(lines)
    key = {MessengerUser: "messenger:psid-journey", TelegramUser: "telegram:880001", WebUser: "web:web-journey"}[
        type(user)
    ]
    conversation, record = relay.read(key, each_store.load(key))
    assert record.outbox == {}  # everything was delivered
    # Dropped, then brought back by Undo with what it had; "too hard" switched its step to the gentler resource.
    assert list(conversation.progress) == ["shell"] and conversation.progress["shell"]["alt"] == ["sh-7"]
    assert each_store.filed("suggestions")[0]["text"] == "Public speaking for engineers"
