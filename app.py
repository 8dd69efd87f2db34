"""The service: ``create_app()`` builds the parts from the settings and wires them to the routes
and the ``flask`` commands.

gunicorn serves ``app:create_app()``; ``flask --app app ...`` runs the commands. Every
collaborator can be passed in (a store, a clock, a sleep, an HTTP session), so tests hand over
real ones instead of patching afterwards.

The doors are here at the top level: this module, and one module per platform (``fb.py``,
``tg.py``, ``web.py``). The runtime they run on is the ``chatbot`` package; the bot in the box,
the ``mentor`` package with skills.json.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import click
from flask import Flask
from flask.json.provider import DefaultJSONProvider

import fb
import mentor
import tg
import web
from chatbot.core import channels as registry
from chatbot.core import logs
from chatbot.core.settings import Settings, SettingsError
from chatbot.delivery import flood
from chatbot.owner.task_auth import TaskAuth
from chatbot.service import admin, cli, hooks, pages, tasks, webhooks
from chatbot.service.parts import Channels, Services, handoff_of, load_skills, load_store
from chatbot.store.base import Backend, service_clock

MAX_BODY_BYTES = 1024 * 1024  # Messenger batches are far smaller; anything larger is refused (413)
# Each channel of the registry and the module that speaks to its platform (its ``make`` and ``routes``).
DOORS = {"messenger": fb, "telegram": tg, "web": web}


def create_app(
    settings: Settings | None = None,
    *,
    store: Backend | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    session=None,
) -> Flask:
    try:
        settings = settings or Settings.from_env()
    except SettingsError as error:
        raise SystemExit(f"not starting: {error}") from None
    log = logs.setup(settings.log_level, secrets=settings.known_secret_values)
    in_cli = click.get_current_context(silent=True) is not None
    services = build_services(settings, store, clock, sleep, session)
    for part, problem in services.problems.items():
        if not in_cli:  # the CLI starts anyway, so that `skills check` and `doctor` can say what is wrong
            line = f"not starting: {'skills file: ' if part == 'skills' else ''}{problem}"
            log.error(line)
            raise SystemExit(line)

    app = Flask(__name__, static_folder="static")
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, DEBUG=False, TESTING=False)
    if isinstance(app.json, DefaultJSONProvider):
        app.json.ensure_ascii = False
        app.json.sort_keys = False
    app.extensions["chatbot"] = services
    for blueprint in (hooks, webhooks, tasks, pages, admin):
        app.register_blueprint(blueprint.blueprint(services))
    for door in DOORS.values():
        routes = getattr(door, "routes", None)
        if routes is not None:
            app.register_blueprint(routes(services))
    cli.register(app, services)
    if not in_cli:  # keep `flask skills graph > flow.md` output clean
        for channel, missing in settings.half_configured().items():
            log.warning(f"{channel} is off: half configured, set {', '.join(missing)}")
        log.info(
            "chatbot ready", extra={"channels": settings.channel_report(), "store": settings.store_url.split(":")[0]}
        )
    return app


def build_services(settings: Settings, store: Backend | None, clock, sleep, session) -> Services:
    skills, skills_problem = load_skills(settings, mentor.ACTIONS, mentor.CHECKS)
    store, store_problem = load_store(settings, store)
    sleep = sleep or time.sleep
    factories = {
        info.name: partial(DOORS[info.name].make, settings, session=session, sleep=sleep)
        for info in registry.CHANNELS
        if settings.enabled(info.name)
    }
    pollers = {
        info.name: partial(DOORS[info.name].make, settings, session=session, sleep=sleep)
        for info in registry.CHANNELS
        if info.polls_with and all(getattr(settings, name.lower()) for name in info.polls_with)
    }
    problems = {name: problem for name, problem in (("skills", skills_problem), ("store", store_problem)) if problem}
    channels = Channels(factories, pollers)
    return Services(
        settings=settings,
        skills=skills,
        store=store,
        channels=channels,
        handoff=handoff_of(settings, channels),
        clock=clock or time.time,
        store_clock=clock or service_clock(store),
        sleep=sleep,
        tasks=TaskAuth(settings, session),
        guard=flood.Guard(flood.Limit(settings.flood_per_minute, settings.flood_per_day)),
        problems=problems,
    )
