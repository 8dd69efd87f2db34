"""The owner hears when the bot is broken: the service's side of it.

Every response is counted in memory (``count``, from the after-request hook in hooks.py); once a
minute a thread of the process writes the counts, and what the platforms said while sending, to the
store (``write_seen``); the scheduled job asks the platforms and tells the owner (``scheduled``);
the dashboard reads it all (``now``). The owner's layer holds the rules: owner/traffic.py,
owner/alerts.py, owner/status.py.
"""

from __future__ import annotations

from functools import partial
from typing import cast

from chatbot.core import channels as registry
from chatbot.core import logs
from chatbot.delivery.channel import Channel, Forums
from chatbot.owner import alerts, status, traffic
from chatbot.service.parts import Services

OWNER_CHANNEL = registry.TELEGRAM.name  # HANDOFF_TELEGRAM_CHAT_ID is a Telegram chat


def count(services: Services, rule: str | None, method: str, status_code: int) -> None:
    """Count one response; wake the writer when a minute has passed. Never fails, never waits."""
    try:
        if services.traffic.count(rule, method, status_code) and services.store is not None:
            services.traffic.in_background(partial(write_seen, services))
    except Exception as error:  # counting is the owner's business, never the request's
        logs.get().warning("could not count a response", extra={"error": type(error).__name__})


def write_seen(services: Services) -> None:
    """This process's counts since the last write, and what its sends noticed (a refused token)."""
    store = services.backend()
    try:
        traffic.write(store, services.traffic)
    except Exception as error:
        logs.get().warning("could not write the traffic counts", extra={"error": failure(error)})
    found = [(channel.name, channel.noticed()) for channel in services.channels.built()]
    try:
        opened = alerts.notice_sent(store, found, services.now(), notify=owner_channel(services) is not None)
    except Exception as error:
        logs.get().warning("could not record what a send noticed", extra={"error": failure(error)})
        return
    if opened:
        logs.get().warning("a platform refused a send", extra={"checks": opened})


def scheduled(services: Services) -> dict:
    """The scheduled job's part: write what this process saw, ask the platforms (at most every 10
    minutes across instances), tell the owner what changed."""
    write_seen(services)
    settings = services.settings
    channels = [channel for name in services.channels.names if (channel := services.channels.get(name))]
    chat, where = owner_channel(services), ""
    if settings.public_url.startswith("https://") and settings.admin_token:
        where = f"{settings.public_url}/admin"
    report = alerts.run(
        services.backend(),
        channels,
        services.now(),
        alerts.owner_chat(chat, settings.handoff_telegram_chat_id) if chat else None,
        settings.known_secret_values(),
        where,
        more=inbox_checks(chat, settings.handoff_telegram_chat_id),
    )
    logs.get().info("platforms checked" if report["checked"] else "platforms not due", extra=report)
    return report


def inbox_checks(chat: Channel | None, chat_id: str):
    """The handoff inbox's checks, as `flask doctor` makes them (the bot still in the group, an admin
    that manages topics): a learner's messages go nowhere while they fail."""
    if chat is None or not chat_id:
        return None
    forums = cast(Forums, chat)
    return lambda: [(chat.name, forums.inbox_checks(chat_id))]


def now(services: Services) -> dict:
    """Whether the bot is healthy right now, as the dashboard shows it (this process's counts first)."""
    write_seen(services)
    return status.collect(services.backend(), services.channels.names, services.clock())


def owner_channel(services: Services) -> Channel | None:
    """The channel that tells the owner: Telegram, when HANDOFF_TELEGRAM_CHAT_ID and its bot token are set."""
    if not services.settings.handoff_telegram_chat_id:
        return None
    return services.channels.polling(OWNER_CHANNEL)


def failure(error: Exception) -> str:
    return alerts.clean(f"{type(error).__name__}: {error}", ())[:300]
