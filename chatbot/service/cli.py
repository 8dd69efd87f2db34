"""The owner's commands for running the bot: `flask --app app doctor`, `skills check|schema|graph`,
`setup CHANNEL` and `telegram-poll`; those about the people it talks to (`suggestions`, `reports`,
`forget`, `stats`, `broadcast`) are cli_people.py's. Registered on the app by ``create_app`` with
the same parts the routes use."""

from __future__ import annotations

import json
import re
import sys
from typing import cast

import click

from chatbot.core import channels as registry
from chatbot.core.outbound import SendFailed
from chatbot.delivery import relay
from chatbot.delivery.channel import Polling
from chatbot.engine import skills as skills_module
from chatbot.engine import skills_check
from chatbot.owner import doctor
from chatbot.service import cli_people
from chatbot.service.parts import Services


def register(app, services: Services) -> None:
    register_doctor(app, services)
    register_skills(app, services)
    register_setup(app, services)
    register_polling(app, services)
    cli_people.register(app, services)


def register_doctor(app, services: Services) -> None:
    @app.cli.command("doctor")
    def check_configuration():
        """Check the store, every secret, skills.json and each platform as the service will use them."""
        checks = doctor.check_all(
            services.settings,
            services.store,
            services.problems.get("store"),
            services.problems.get("skills"),
            [channel for name in services.channels.names if (channel := services.channels.get(name))],
            services.handoff.forums(),
        )
        for check in checks:
            click.echo(check.line())
        failed = sum(not c.ok for c in checks)
        click.echo(f"{len(checks) - failed} ok, {failed} failed")
        if failed:
            sys.exit(1)


def register_skills(app, services: Services) -> None:
    skills_group = click.Group("skills", help="Check or draw skills.json.")
    app.cli.add_command(skills_group)

    @skills_group.command("check")
    def check_skills():
        """Validate skills.json: schema, references and every platform limit, in every locale."""
        loaded = services.loaded_skills()
        problems = schema_problems(loaded.data, services.settings.skills_file)
        if problems:
            click.echo("\n".join(problems), err=True)
            sys.exit(1)
        assignments = sum(len(s["assignments"]) for s in loaded.catalog)
        source = services.settings.skills_file
        click.echo(
            f"{source}: ok: {len(loaded.intents)} intents, {len(loaded.states)} states, "
            f"{len(loaded.locales)} locales ({', '.join(loaded.locales)}), "
            f"{len(loaded.catalog)} skills, {assignments} assignments"
        )

    @skills_group.command("schema")
    def skills_schema():
        """Print the JSON Schema of skills.json, limits from the one table (redirect to skills.schema.json)."""
        click.echo(json.dumps(skills_check.schema(), indent=2, ensure_ascii=False))

    @skills_group.command("graph")
    def skills_graph():
        """Print the conversation flow as a Mermaid diagram."""
        click.echo(mermaid(services.loaded_skills()))


def register_setup(app, services: Services) -> None:
    @app.cli.command("setup")
    @click.argument("channel", type=click.Choice(registry.NAMES))
    def setup_channel(channel: str):
        """Make a platform match this bot (idempotent): Telegram's webhook and command lists;
        Messenger's Get Started button, greeting, menu and ice breakers."""
        found = services.channels.get(channel)
        if found is None:
            missing = services.settings.missing(channel)
            raise click.ClickException(f"{channel} is off here: set {', '.join(missing) or 'its variables'}")
        try:
            done = found.setup(services.loaded_skills())
        except SendFailed as error:
            raise click.ClickException(f"{registry.info(channel).title} refused: {error}") from None
        click.echo("changed: " + (", ".join(done) if done else "nothing, already up to date"))
        for check in found.diagnose():
            click.echo(check.line())
        if channel == registry.TELEGRAM.name:  # the owner's inbox of conversations handed to a person
            inbox = doctor.handoff_checks(services.settings, services.handoff.forums())
            for check in inbox:
                click.echo(check.line())
            chat_unset = not services.settings.handoff_telegram_chat_id
            if chat_unset or any(not check.ok and check.name == "handoff inbox" for check in inbox):
                click.echo(doctor.HOW_TO_INBOX)


def register_polling(app, services: Services) -> None:
    for info in registry.CHANNELS:
        if info.polls_with:
            app.cli.add_command(poll_command(info, services))


def poll_command(info: registry.ChannelInfo, services: Services) -> click.Command:
    @click.command(f"{info.name}-poll")
    @click.option("--stop-when-idle", is_flag=True, help="exit once there are no more updates (for scripts)")
    @click.option("--force", is_flag=True, help="take the updates even while a webhook is set (it is put back)")
    def poll(stop_when_idle: bool, force: bool):
        """Long polling instead of a webhook, for trying a real bot with no public URL."""
        bot = cast(Polling | None, services.channels.polling(info.name))
        if bot is None:
            raise click.ClickException(f"{info.name} polling needs {', '.join(info.polls_with)}")
        skills, store = services.loaded_skills(), services.loaded_store()

        def handle(body: dict) -> bool:
            updates = services.handoff.route(bot.parse(body), store)  # the owner's answers go to their learners
            outcome = relay.deliver_all(
                updates,
                bot,
                store,
                skills,
                clock=services.now,
                guard=services.guard,
                lease=services.settings.claim_lease_seconds,
                channels=services.sender,
                handoff=services.handoff,
            )
            return not outcome.retry

        click.echo(f"polling {info.title}; Ctrl-C to stop")
        try:
            handled = bot.poll(handle, stop_when_idle=stop_when_idle, force=force, say=click.echo)
        except KeyboardInterrupt:
            return
        except SendFailed as error:
            raise click.ClickException(bot.explain(error)) from None
        click.echo(f"handled {handled} update(s)")

    return poll


def schema_problems(data: dict, skills_file: str) -> list[str]:
    """JSON Schema check (skills.schema.json next to the skills file, else the project's), limits from LIMITS."""
    try:
        import jsonschema
    except ImportError:
        click.echo("note: jsonschema is not installed (make install adds it); checked references and limits only")
        return []
    from pathlib import Path

    path = Path(skills_file).with_name("skills.schema.json")
    validator = jsonschema.Draft202012Validator(skills_check.schema(str(path) if path.exists() else None))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(data)]


def mermaid(loaded: skills_module.Skills) -> str:
    """Intents (rounded), states (boxes); arrows for gotos, button payloads and free text."""
    lines = ["flowchart LR"]
    node = lambda name: re.sub(r"\W", "_", name)  # noqa: E731
    for named in loaded.states:
        lines.append(f"    state_{node(named)}[[{named}]]")
    menus = loaded.data.get("menus", {})
    for name, intent in loaded.intents.items():
        label = name + (f"<br/>action: {intent['action']}" if "action" in intent else "")
        lines.append(f'    {node(name)}("{label}")')
        if intent.get("goto"):
            lines.append(f"    {node(name)} --> state_{node(intent['goto'])}")
        targets = set()
        for reply in intent.get("say", []):
            for key in ("quick_replies", "buttons"):
                spec = reply.get(key, [])
                listed: list[dict] = menus.get(spec, []) if isinstance(spec, str) else spec
                for button in listed:
                    found = loaded.match_payload(re.sub(r"\{[a-z_]+\}", "x", button.get("payload", "")))
                    if found:
                        targets.add(found[0])
        for target in sorted(targets):
            lines.append(f"    {node(name)} -.-> {node(target)}")
    for state_name, state in loaded.states.items():
        if state.get("on_text"):
            lines.append(f"    state_{node(state_name)} -- text --> {node(state['on_text'])}")
        for table in state.get("aliases", {}).values():
            matched = [loaded.match_payload(re.sub(r"\{[a-z_]+\}", "1", t)) for t in table.values()]
            for target in sorted({found[0] for found in matched if found}):
                lines.append(f"    state_{node(state_name)} -- words --> {node(target)}")
            break
    return "\n".join(dict.fromkeys(lines))
