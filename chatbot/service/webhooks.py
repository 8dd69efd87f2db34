"""The one webhook path: verify the raw bytes, parse, deliver, answer; and the route of each
platform that posts to one (the registry's)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import cast

from flask import Blueprint, Response, request

from chatbot.core import channels as registry
from chatbot.core import deadline, logs
from chatbot.core.outbound import SendFailed
from chatbot.delivery import relay
from chatbot.engine.types import Unreadable
from chatbot.service.answers import answer, outcome_answer
from chatbot.service.parts import Services

# Everything a webhook request does (store calls, sends) fits in this, so that the platform gets its
# answer before it gives up (Messenger waits 20 s): what is left is done when it redelivers.
REQUEST_SECONDS = 17.0


class Refused(Exception):
    """A channel's ``prepare`` turned the request away: the status and the text to answer with."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status


def receive(services: Services, name: str, prepare: Callable[[list], list] | None = None) -> Response:
    """Verify, parse, deliver, answer. ``prepare`` is the channel's last word on the updates before
    delivery (the web's identities); it may raise ``Refused``."""
    channel = services.channels.get(name)
    if channel is None:
        return answer(name, 404, f"{name} is off\n")
    raw = request.get_data(cache=True)
    if not channel.verify(raw, cast(Mapping[str, str], request.headers)):  # werkzeug's case-insensitive headers
        logs.get().warning("request not verified", extra={"channel": name, "bytes": len(raw)})
        return answer(name, 401, "a bearer token is required") if name == "web" else answer(name, 403, "forbidden\n")
    try:
        updates = channel.parse(json.loads(raw))
    except SendFailed as error:  # the channel had to ask its platform something first (who it is), and could not
        logs.get().warning("could not read the request yet", extra={"channel": name, "reason": str(error)})
        return answer(name, 503, "retry later\n")
    except (ValueError, RecursionError) as error:
        reason = str(error) if isinstance(error, Unreadable) else "body must be JSON"
        logs.get().info("request not readable", extra={"channel": name, "bytes": len(raw), "reason": reason})
        return answer(name, 400, reason + "\n")
    try:
        updates = prepare(updates) if prepare else updates
    except Refused as refused:
        return answer(name, refused.status, str(refused))
    except Exception as error:  # the web's signing key lives in the store, which may be down
        logs.get().warning("could not prepare the request", extra={"channel": name, "error": type(error).__name__})
        return answer(name, 503, "busy, try again in a moment")
    if services.skills is None or services.store is None:  # only the CLI starts without them; a server refuses to
        return answer(name, 503, "not configured\n")
    try:  # what the owner wrote in a learner's topic is the learner's (delivery/handoff.py)
        updates = services.handoff.route(updates, services.store)
    except Exception as error:
        logs.get().warning("could not route the owner's message", extra={"error": type(error).__name__})
        return answer(name, 503, "retry later\n")
    with deadline.within(REQUEST_SECONDS):
        outcome = relay.deliver_all(
            updates,
            channel,
            services.store,
            services.skills,
            clock=services.now,
            timer=services.clock,  # the batch's time budget: this machine's (a test's) clock
            guard=services.guard,
            lease=services.settings.claim_lease_seconds,
            channels=services.sender,
            handoff=services.handoff,
        )
    return outcome_answer(channel, outcome)


def blueprint(services: Services) -> Blueprint:
    """POST on the route of every channel whose platform posts to a webhook."""
    bp = Blueprint("webhooks", __name__)
    for info in registry.CHANNELS:
        if info.route.startswith("/webhook/"):
            bp.add_url_rule(
                info.route, f"{info.name}_webhook", lambda name=info.name: receive(services, name), methods=["POST"]
            )
    return bp
