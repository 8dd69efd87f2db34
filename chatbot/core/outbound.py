"""The one way the service calls a platform over HTTP.

Every call goes through ``post_json`` or ``request``: a shared session, a
(connect, read) timeout, and failures turned into ``SendFailed`` that says
whether a retry can help (transient), whether it cannot (permanent), and
whether the person is gone (blocked the bot, deleted the account). Error
text never carries a URL: a Telegram URL carries the bot token.
"""

from __future__ import annotations

import os
import re
from typing import Any

from chatbot.core import deadline

DEFAULT_TIMEOUT = (3.05, 8.0)  # connect, read: a send still fits in Messenger's 20-second window
# The longest one send may take, its waits for a rate limit included (tg.Telegram.call): a claim on
# replies (delivery/relay.py LEASE_SECONDS) outlives it, so no live sender is taken over mid-send.
SEND_SECONDS_MAX = 20.0
# The same for the owner's commands (a broadcast), which wait out a rate limit of up to a minute: their
# claims last this much longer than the settings' lease.
PATIENT_SEND_SECONDS_MAX = 90.0
_TOKEN_IN_URL = re.compile(r"/bot\d+:[A-Za-z0-9_-]+|access_token=[^&\s]+")


class SendFailed(Exception):
    """A platform call that did not succeed. ``transient``: worth retrying later;
    ``user_gone``: the person blocked the bot or is unreachable for good."""

    def __init__(self, reason: str, transient: bool, user_gone: bool = False, status: int = 0):
        super().__init__(scrub(reason))
        self.transient = transient
        self.user_gone = user_gone
        self.status = status  # the platform's HTTP status; 0 when none came back


def scrub(text: str) -> str:
    """Remove anything that looks like a token in a URL from text meant for a log."""
    return _TOKEN_IN_URL.sub("<token>", text)


def new_session():
    """A pooled HTTP session; imported on first use so a cold /health never loads requests.

    The environment (proxies, CA bundle) is read once here rather than on every call: requests
    otherwise walks all of ``os.environ`` for proxy settings (and reads ~/.netrc) on each send,
    the largest single cost of a send in bench/cpu_profile.py."""
    import urllib.request

    import requests

    session = requests.Session()
    if urllib.request.getproxies():
        return session  # proxies with their exceptions (no_proxy): requests' own handling, per call
    session.trust_env = False
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session


def request(session, method: str, url: str, *, timeout=DEFAULT_TIMEOUT, **kwargs: Any) -> tuple[int, dict]:
    """One HTTP call; network trouble becomes a transient ``SendFailed``. Returns (status, JSON object or {}).
    Within a request's deadline (core/deadline.py) the read timeout is cut to the time left."""
    import requests

    try:
        response = session.request(method, url, timeout=deadline.fitted(timeout), **kwargs)
    except requests.RequestException as error:
        # The exception text can carry the URL, and a Telegram URL carries the token.
        raise SendFailed(f"network error: {type(error).__name__}", transient=True) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    return response.status_code, body if isinstance(body, dict) else {}


def post_json(
    session, url: str, payload: dict, timeout=DEFAULT_TIMEOUT, params: dict | None = None
) -> tuple[int, dict]:
    return request(session, "POST", url, json=payload, params=params, timeout=timeout)
