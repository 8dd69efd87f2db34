"""The service's parts, built from the settings: the skills, the store a STORE_URL names, and
the channels whose credentials are set (each built on first use). ``create_app`` calls these."""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlparse

import actions
import fb
import relay
import skills as skills_module
import tg
import web
from settings import Settings
from store import Store


def load(app, settings: Settings, store: Store | None, log, in_cli: bool):
    """The skills and the store, or a one-line reason. A server refuses to start without them;
    the CLI starts anyway, so `skills check` and `doctor` can say what is wrong."""
    skills = None
    try:
        skills = skills_module.load(settings.skills_file, actions.ACTIONS, actions.CHECKS)
    except (OSError, skills_module.SkillsError) as error:
        app.extensions["skills_error"] = error
        if not in_cli:
            log.error(f"not starting: skills file: {error}")
            raise SystemExit(f"not starting: skills file: {error}") from None
    try:
        store = store or open_store(settings.store_url, settings.retention_days)
    except ValueError as error:
        app.extensions["store_error"] = error
        if not in_cli:
            log.error(f"not starting: {error}")
            raise SystemExit(f"not starting: {error}") from None
    return skills, store


def open_store(url: str, retention_days: int = 400) -> Store:
    """The store a STORE_URL names: sqlite:///PATH (the default) or firestore://[PROJECT[/DATABASE]]."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        from sqlite_store import SQLiteStore

        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else parsed.path
        return SQLiteStore(path or "chatbot.db", retention_days)
    if parsed.scheme == "firestore":
        from firestore_store import FirestoreStore

        return FirestoreStore(parsed.netloc or None, parsed.path.strip("/") or None, retention_days)
    raise ValueError(f"STORE_URL: unknown scheme {parsed.scheme!r}: use sqlite:///PATH or firestore://[PROJECT]")


def channel_factories(settings: Settings, session, sleep) -> dict[str, Callable[[], relay.Channel]]:
    factories: dict[str, Callable[[], relay.Channel]] = {}
    if settings.messenger_enabled:
        factories["messenger"] = lambda: fb.Messenger(settings, session)
    if settings.telegram_enabled:
        factories["telegram"] = lambda: tg.Telegram(settings, session, sleep=sleep)
    if settings.web_chat_enabled:
        factories["web"] = lambda: web.WebChat(settings)
    return factories


class Channels:
    """The platform clients, built on first use: a cold /health never imports requests (~80 ms)."""

    def __init__(self, factories: dict):
        self._factories = factories
        self._made: dict = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return list(self._factories)

    def get(self, name: str) -> relay.Channel | None:
        if name not in self._factories:
            return None
        if name not in self._made:
            with self._lock:
                if name not in self._made:
                    self._made[name] = self._factories[name]()
        return self._made[name]
