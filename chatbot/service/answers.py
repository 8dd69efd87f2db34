"""How the service answers: the web chat gets JSON, the platforms a short text."""

from __future__ import annotations

import json

from flask import Response

from chatbot.delivery.channel import Channel
from chatbot.delivery.relay import Outcome

HTML = "text/html"
TEXT = "text/plain"


def answer(channel: str, status: int, text: str = "", replies: list | None = None) -> Response:
    """The one place an HTTP answer to a channel is made."""
    if channel == "web":
        body = {"replies": replies or []} if status == 200 else {"error": text.strip()}
        return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    return Response(text, status=status, mimetype=TEXT)


def outcome_answer(channel: Channel, outcome: Outcome) -> Response:
    """200 only when every event is recorded and every reply sent; else 503, and the platform retries."""
    if outcome.retry:
        text = "busy, try again in a moment" if channel.name == "web" else f"{outcome.reason}, retry later\n"
        return answer(channel.name, 503, text)
    return answer(channel.name, 200, channel.ack, replies=outcome.items)
