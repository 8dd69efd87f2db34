"""The owner's commands: `flask --app app doctor`, `skills check|schema|graph`, `setup CHANNEL`,
`telegram-poll`, `suggestions`, `reports`, `forget`, `stats` and `broadcast`. Registered on the
app by ``create_app`` with the same parts the routes use."""

from __future__ import annotations

import json
import re
import sys
import time
from typing import cast

import click

from chatbot.core import channels as registry
from chatbot.core import outbound
from chatbot.core.outbound import SendFailed
from chatbot.core.text import plain_text
from chatbot.delivery import relay
from chatbot.delivery.channel import Polling
from chatbot.engine import skills as skills_module
from chatbot.engine import skills_check
from chatbot.engine.types import Update
from chatbot.owner import doctor
from chatbot.service.parts import Services


def register(app, services: Services) -> None:
    register_doctor(app, services)
    register_skills(app, services)
    register_setup(app, services)
    register_polling(app, services)
    register_suggestions(app, services)
    register_forget(app, services)
    register_stats(app, services)
    register_broadcast(app, services)


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


def loaded_skills(services: Services) -> skills_module.Skills:
    """The skills the app loaded, or exit 1 with every problem of a broken file."""
    if services.skills is None:
        click.echo(str(services.problems.get("skills")), err=True)
        sys.exit(1)
    return services.skills


def register_skills(app, services: Services) -> None:
    skills_group = click.Group("skills", help="Check or draw skills.json.")
    app.cli.add_command(skills_group)

    @skills_group.command("check")
    def check_skills():
        """Validate skills.json: schema, references and every platform limit, in every locale."""
        loaded = loaded_skills(services)
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
        click.echo(mermaid(loaded_skills(services)))


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
            done = found.setup(loaded_skills(services))
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
        skills, store = loaded_skills(services), loaded_store(services)

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


def loaded_store(services: Services):
    """The store, or exit 1 with the one line that says what is wrong with STORE_URL."""
    if services.store is None:
        raise click.ClickException(str(services.problems.get("store")))
    return services.store


def register_suggestions(app, services: Services) -> None:
    @app.cli.command("suggestions")
    @click.option("--limit", default=50, show_default=True)
    def list_suggestions(limit: int):
        """Show the skills users asked for, newest first."""
        store = loaded_store(services)
        try:
            items = store.filed("suggestions", limit)
        except Exception as error:
            raise click.ClickException(f"store: {type(error).__name__}: {str(error)[:300]}") from None
        for item in items:
            stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(item["created_at"]))
            who, text = plain_text(str(item["conversation"])), plain_text(str(item["text"]))
            click.echo(f"{stamp}  {plain_text(str(item.get('locale') or '--'))}  {who}  {text}")

    @app.cli.command("reports")
    @click.option("--limit", default=50, show_default=True)
    def list_reports(limit: int):
        """Show the links people reported as broken, newest first: fix them in skills.json."""
        try:
            items = loaded_store(services).filed("reports", limit)
        except Exception as error:
            raise click.ClickException(f"store: {type(error).__name__}: {str(error)[:300]}") from None
        for item in items:
            stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(item["created_at"]))
            where = f"{plain_text(str(item.get('skill')))}/{plain_text(str(item.get('item')))}"
            click.echo(f"{stamp}  {where}  {plain_text(str(item.get('url')))}")


DELETED_WORDS = {
    "conversation": ("the conversation", "the conversation"),
    "skills": ("progress in 1 skill", "progress in {n} skills"),
    "reminder": ("the reminder", "the reminder"),
    "suggestions": ("1 suggestion", "{n} suggestions"),
    "reports": ("1 broken-link report", "{n} broken-link reports"),
    "transcript": ("1 web message", "{n} web messages"),
    "handoff": ("the conversation with a person", "the conversation with a person"),
}


def register_forget(app, services: Services) -> None:
    @app.cli.command("forget")
    @click.argument("channel", type=click.Choice(registry.NAMES))
    @click.argument("user_id")
    def forget_person(channel: str, user_id: str):
        """Delete everything kept about one person (a request by e-mail, say): their conversation,
        reminder, suggestions and reports. Prints what was deleted, and a receipt URL."""
        from chatbot.owner import erasure

        store, key = loaded_store(services), f"{channel}:{user_id.strip()}"
        if not user_id.strip():
            raise click.BadParameter("USER_ID is empty")
        try:
            receipt = erasure.forget(store, [key], "owner", always=False, topics=services.handoff.forgotten_topic)
        except Exception as error:
            raise click.ClickException(f"store: {type(error).__name__}: {str(error)[:300]}") from None
        deleted = receipt["deleted"]
        if not deleted:
            click.echo(f"nothing stored for {key}: nothing to delete")
            return
        words = [
            DELETED_WORDS[name][deleted[name] != 1].format(n=deleted[name]) for name in DELETED_WORDS if name in deleted
        ]
        base = services.settings.public_url or "http://127.0.0.1:8080"
        click.echo(f"deleted {key}: {', '.join(words)}; receipt {base}/deletion?id={receipt['id']}")


def register_stats(app, services: Services) -> None:
    @app.cli.command("stats")
    @click.option("--days", default=30, show_default=True, type=click.IntRange(1, 60), help="the period, up to today")
    @click.option("--json", "as_json", is_flag=True, help="the numbers as JSON (every key is in docs/owner.md)")
    def show_stats(days: int, as_json: bool):
        """People per channel, activity, messages, skills, reminders and what the bot did not understand."""
        from chatbot.owner import stats

        try:
            numbers = stats.collect(loaded_store(services), days, services.clock())
        except Exception as error:
            raise click.ClickException(f"store: {type(error).__name__}: {str(error)[:300]}") from None
        if as_json:
            click.echo(json.dumps(numbers, indent=2, ensure_ascii=False))
            return
        period = numbers["period"]
        click.echo(f"{period['from']} to {period['to']} (UTC, {period['days']} days)")
        users = ", ".join(f"{n} on {channel}" for channel, n in numbers["users"].items())
        click.echo(f"people: {numbers['users_total']} ({users}); new in the period: {numbers['new_users']}")
        click.echo("active: " + ", ".join(f"{n} in {d} day(s)" for d, n in numbers["active"].items()))
        for name in ("messages", "fallbacks", "assignments_done", "skills_started", "skills_finished"):
            click.echo(f"{name.replace('_', ' ')}: {numbers[name]}")
        reminders = (numbers["reminders_sent"], numbers["reminders_held"], numbers["reminders_refused"])
        click.echo(
            "reminders: {} sent, {} held, {} refused; announcements: {}".format(
                *reminders, numbers["announcements_sent"]
            )
        )
        wait = numbers["handoff_first_answer_seconds"]
        click.echo(
            f"handed to a person: {numbers['handoffs_opened']} opened, {numbers['handoffs_closed']} closed, "
            f"{numbers['handoffs_open']} open now"
            + (f"; a person's first answer after {round(wait / 60)} min on average" if wait is not None else "")
        )
        click.echo("funnel: " + " > ".join(f"{k.replace('_', ' ')} {v}" for k, v in numbers["funnel"].items()))
        for row in numbers["unmatched"]:
            click.echo(f"  not understood ({row['people']}): {plain_text(row['text'])}")


def register_broadcast(app, services: Services) -> None:
    from chatbot.outreach import wakes

    @app.cli.command("broadcast")
    @click.argument("name")
    @click.option("--to", default="everyone", show_default=True, help=wakes.AUDIENCES)
    @click.option("--skill", default="", help="the catalog skill the announcement names, for {skill} in its payload")
    @click.option(
        "--dry-run", is_flag=True, help="count who would get it per channel, and who not and why; send nothing"
    )
    def send_broadcast(name: str, to: str, skill: str, dry_run: bool):
        """Send the announcement NAME (an intent of skills.json, like announce_new_skills) to an audience,
        once per person: a second run, or one after an interruption, sends only what is missing."""
        skills, store = loaded_skills(services), loaded_store(services)
        payload, event_id = announcement(skills, name, skill)
        try:
            wakes.audience(to)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--to") from None
        made: dict = {}

        def channel(which: str):
            if which not in made:  # a command may wait out a long rate limit
                found = services.channels.get(which)
                made[which] = found.patient() if found is not None else None
            return made[which]

        def update_for(channel_name: str, user_id: str) -> Update:
            return Update(channel=channel_name, user_id=user_id, event_id=event_id, from_bot=True, payload=payload)

        click.echo(f"{name} to {to}{' (dry run: nothing is sent)' if dry_run else ''}")
        # The channels here wait out a rate limit of up to a minute (``patient``): the claims outlive that.
        lease = services.settings.claim_lease_seconds + outbound.PATIENT_SEND_SECONDS_MAX - outbound.SEND_SECONDS_MAX
        report = wakes.broadcast(
            store,
            channel,
            skills,
            update_for,
            to,
            dry_run=dry_run,
            clock=services.now,
            sleep=services.sleep,
            lease=lease,
        )
        sent = ", ".join(f"{n} on {c}" for c, n in sorted(report.sent.items())) or "nobody"
        click.echo(f"{'would get it' if dry_run else 'sent'}: {sum(report.sent.values())} ({sent})")
        for channel_name, reasons in sorted(report.skipped.items()):
            click.echo(f"skipped on {channel_name}: " + ", ".join(f"{n} {why}" for why, n in sorted(reasons.items())))
        if report.failed:
            click.echo(f"failed for now: {report.failed} (run the same command again: it sends only what is missing)")
        if report.pending:
            click.echo(
                f"still pending: {report.pending} (another run was sending them, or stopped while it did: run this "
                f"again in {int(lease)} s and it sends what that run left)"
            )


def announcement(skills: skills_module.Skills, name: str, skill: str) -> tuple[str, str]:
    """The payload and event id of the announcement NAME, or a usage error naming the fix."""
    intent = skills.intents.get(name) or {}
    payloads = intent.get("triggers", {}).get("payloads", [])
    if not payloads:
        choices = ", ".join(n for n, i in skills.intents.items() if n.startswith("announce"))
        raise click.BadParameter(f"{name!r} is not an announcement of skills.json (try {choices})", param_hint="NAME")
    payload = payloads[0]
    if "{skill}" in payload:
        if not skills.skill(skill):
            raise click.BadParameter(f"{name} names a skill: give --skill with a catalog id", param_hint="--skill")
        payload = payload.replace("{skill}", skill)
    return payload, f"announce:{name}" + (f":{skill}" if "{skill}" in payloads[0] else "")


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
