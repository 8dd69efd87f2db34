"""The parts ``create_app`` wires together: the skills, the store, the channels (each built on
first use), and everything else a route or a command needs, in one ``Services``."""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import click

from chatbot.core import channels as registry
from chatbot.core import logs
from chatbot.core.settings import Settings
from chatbot.delivery import flood, hours
from chatbot.delivery.channel import Channel
from chatbot.delivery.handoff import Handoff
from chatbot.engine import loader
from chatbot.engine import skills as skills_module
from chatbot.owner.task_auth import TaskAuth
from chatbot.owner.traffic import Traffic
from chatbot.store.base import Backend
from chatbot.store.url import open_store


class Channels:
    """The platform clients, built on first use: a cold /health never imports requests (~80 ms).
    ``pollers``: channels that are not on (no webhook secret, say) but could poll their platform."""

    def __init__(self, factories: Mapping[str, Callable[[], Channel]], pollers: Mapping | None = None):
        self._factories = factories
        self._pollers = pollers or {}
        self._made: dict[str, Channel] = {}
        self._lock = threading.Lock()

    def polling(self, name: str) -> Channel | None:
        """The channel for polling its platform: the one that is on, or one built for polling only."""
        found = self.get(name)
        if found is None and name in self._pollers:
            found = self._pollers[name]()
        return found

    @property
    def names(self) -> list[str]:
        return list(self._factories)

    def built(self) -> list[Channel]:
        """The channels built so far (the ones that may have sent something), building none."""
        with self._lock:
            return list(self._made.values())

    def get(self, name: str) -> Channel | None:
        if name not in self._factories:
            return None
        if name not in self._made:
            with self._lock:
                if name not in self._made:
                    self._made[name] = self._factories[name]()
        return self._made[name]


@dataclass
class Services:
    """What the routes and the commands are given: built once by ``create_app``."""

    settings: Settings
    skills: skills_module.Skills | None
    store: Backend | None
    channels: Channels
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    tasks: TaskAuth
    guard: flood.Guard
    # Why the skills or the store could not be loaded: the CLI starts anyway, to say so.
    problems: dict[str, Exception] = field(default_factory=dict)
    handoff: Handoff = field(default_factory=Handoff)  # who can take a conversation over (delivery/handoff.py)
    traffic: Traffic = field(init=False)  # this process's answers, counted for the owner (watch.py)
    # The time conversations go by (when a reminder is due, a claim runs out, a message is old): the
    # store's, which every instance agrees on (store/base.py service_clock); ``clock`` is this
    # machine's, for what only this process counts (its answers, wrong tokens) and never touches the
    # store (a /health answers without it). The same when a test gives one clock.
    store_clock: Callable[[], float] | None = None

    def __post_init__(self) -> None:
        self.traffic = Traffic(self.clock)
        if self.store_clock is None:
            self.store_clock = self.clock

    def loaded_skills(self) -> skills_module.Skills:
        """The skills the app loaded, or (a command) exit 1 with every problem of a broken file."""
        if self.skills is None:
            click.echo(str(self.problems.get("skills")), err=True)
            sys.exit(1)
        return self.skills

    def loaded_store(self) -> Backend:
        """The store, or (a command) exit 1 with the one line that says what is wrong with STORE_URL."""
        if self.store is None:
            raise click.ClickException(str(self.problems.get("store")))
        return self.store

    def now(self) -> float:
        """The store's time (``store_clock``)."""
        return self.store_clock() if self.store_clock is not None else self.clock()

    def sender(self, name: str) -> Channel | None:
        """The channel that sends what is queued for ``name``: the one that is on, or for the owner's
        Telegram chat, the client that reaches it while the webhook is off here (polling locally)."""
        return self.channels.get(name) or (self.handoff.owner() if name == self.handoff.owner_name else None)

    def backend(self) -> Backend:
        """The store, for a route: a server does not start without one (only the CLI does)."""
        if self.store is None:
            raise RuntimeError(f"no store: {self.problems.get('store')}")
        return self.store


def handoff_of(settings: Settings, channels: Channels) -> Handoff:
    """A person behind the bot, as the settings say: the owner's Telegram forum (reached through the
    Telegram channel, or one built to call its API when the webhook is off here) and Messenger's
    Page Inbox. Office hours that do not read are left out, with a line in the log (doctor says why)."""
    try:
        office = hours.parse(settings.handoff_hours)
    except ValueError as error:
        logs.get().warning("HANDOFF_HOURS ignored", extra={"reason": str(error)})
        office = None
    return Handoff(
        chat=settings.handoff_telegram_chat_id,
        owner=functools.cache(lambda: channels.polling(registry.TELEGRAM.name)),  # one client, built on first use
        messenger_inbox=settings.handoff_messenger.strip().lower() == "inbox" and settings.enabled("messenger"),
        hours=office,
        idle_seconds=settings.handoff_idle_hours * 3600.0,
    )


def load_skills(
    settings: Settings, actions: dict, checks: tuple
) -> tuple[skills_module.Skills | None, Exception | None]:
    try:
        return loader.load(settings.skills_file, actions, checks), None
    except (OSError, skills_module.SkillsError) as error:
        return None, error


def load_store(settings: Settings, store: Backend | None) -> tuple[Backend | None, Exception | None]:
    if store is not None:
        return store, None
    try:
        return open_store(settings.store_url, settings.retention_days), None
    except ValueError as error:
        return None, error
