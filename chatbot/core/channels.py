"""The channel registry: every platform the service speaks, declared once.

Each entry says a channel's name, the environment variables that configure it (and which of
them are secrets), the route its platform calls, and the limits its platform puts on what the
bot says. Settings read their variables from here, the skills check its limits, and stats,
outreach, privacy, the CLI and ``doctor`` its names. The code that talks to a platform lives in
a module at the top level (``fb.py``, ``tg.py``, ``web.py``), built by ``create_app`` from the
factory ``app.py`` names for each entry; nothing in the runtime imports one.

Adding a platform: one module at the top level, one entry here, its factory in ``app.py``, and
its secrets in the deploy files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variable:
    """One environment variable of a channel. ``required``: the channel is off without it."""

    name: str
    secret: bool = False
    required: bool = True
    default: str = ""
    url: bool = False  # a base URL: a trailing "/" is dropped

    @property
    def field(self) -> str:
        """The name ``Settings`` knows it by: ``FB_APP_SECRET`` -> ``fb_app_secret``."""
        return self.name.lower()


@dataclass(frozen=True)
class ChannelInfo:
    name: str
    title: str  # how the owner's pages and messages name it
    route: str  # where its platform posts (the web chat: where the page posts)
    variables: tuple[Variable, ...] = ()
    limits: Mapping[str, int] = field(default_factory=dict)
    # On with none of its variables, on this machine only: the web chat, which on Cloud Run (public
    # to the world) needs its token.
    open_locally: bool = False
    # Why an announcement or a reminder may not go to someone now, when the channel says no.
    not_now: str = "the channel does not allow it now"
    # Its platform can also be polled for updates (`flask <name>-poll`), which needs only these
    # variables (no webhook, so no webhook secret).
    polls_with: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables if v.required)


MESSENGER = ChannelInfo(
    name="messenger",
    title="Messenger",
    route="/webhook/messenger",
    variables=(
        Variable("FB_PAGE_ACCESS_TOKEN", secret=True),
        Variable("FB_APP_SECRET", secret=True),
        Variable("FB_VERIFY_TOKEN", secret=True),
        Variable("FB_GRAPH_URL", required=False, default="https://graph.facebook.com/v25.0", url=True),
        # Only for matching a data deletion request's app-scoped id to the page's ids.
        Variable("FB_APP_ID", required=False),
    ),
    # The Send API's and the Messenger Profile API's limits.
    limits={
        "text": 2000,
        "quick_replies": 13,
        "quick_reply_title": 20,
        "button_title": 20,
        "button_text": 640,  # the text of a button template
        "buttons": 3,
        "cards": 10,
        "card_title": 80,
        "card_subtitle": 80,
        "payload": 1000,
        "greeting": 160,
        "menu_title": 30,
        "menu_items": 20,
        "ice_breaker": 80,
        "ice_breakers": 4,
    },
    not_now="outside Messenger's 24-hour window",
)

TELEGRAM = ChannelInfo(
    name="telegram",
    title="Telegram",
    route="/webhook/telegram",
    variables=(
        Variable("TELEGRAM_BOT_TOKEN", secret=True),
        Variable("TELEGRAM_SECRET_TOKEN", secret=True),
        Variable("TELEGRAM_API_URL", required=False, default="https://api.telegram.org", url=True),
    ),
    # The Bot API's limits. Payloads longer than callback_data are carried by short keys (the relay).
    limits={"text": 4096, "caption": 1024, "callback_data": 64, "command": 32, "command_description": 256},
    polls_with=("TELEGRAM_BOT_TOKEN",),
)

WEB = ChannelInfo(
    name="web",
    title="the web chat",
    route="/api/chat",
    variables=(Variable("WEB_CHAT_TOKEN", secret=True, required=False),),
    limits={"text": 4000},
    open_locally=True,
    not_now="the web chat only answers",
)

CHANNELS: tuple[ChannelInfo, ...] = (MESSENGER, TELEGRAM, WEB)
NAMES: tuple[str, ...] = tuple(channel.name for channel in CHANNELS)


def info(name: str) -> ChannelInfo:
    return next(channel for channel in CHANNELS if channel.name == name)


def variables() -> tuple[Variable, ...]:
    return tuple(variable for channel in CHANNELS for variable in channel.variables)


def strictest(kind: str) -> int:
    """The smallest limit of ``kind`` any channel declares: what skills.json must stay within so
    that every platform takes it (a Messenger-only kind, such as its greeting, is Messenger's)."""
    found = [channel.limits[kind] for channel in CHANNELS if kind in channel.limits]
    if not found:
        raise KeyError(f"no channel declares a limit on {kind!r}")
    return min(found)
