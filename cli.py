"""The command line: `flask --app app skills check|graph`, `setup telegram|messenger`,
`telegram-poll` and `suggestions`. Registered on the app by ``create_app``."""

from __future__ import annotations

import json
import re
import sys
import time

import click

import doctor
import relay
import skills as skills_module
import skills_check
from chat import Update
from outbound import SendFailed
from texts import plain_text


def register(app) -> None:
    register_doctor(app)
    register_skills(app)
    register_setup(app)
    register_telegram_poll(app)
    register_suggestions(app)
    register_forget(app)
    register_stats(app)
    register_broadcast(app)


def register_doctor(app) -> None:
    @app.cli.command("doctor")
    def check_configuration():
        """Check the store, every secret, skills.json and each platform as the service will use them."""
        checks = doctor.check_all(
            app.extensions["settings"],
            app.extensions.get("store"),
            app.extensions.get("store_error"),
            app.extensions.get("skills_error"),
        )
        for check in checks:
            click.echo(check.line())
        failed = sum(not c.ok for c in checks)
        click.echo(f"{len(checks) - failed} ok, {failed} failed")
        if failed:
            sys.exit(1)


def loaded_skills(app) -> skills_module.Skills:
    """The skills the app loaded, or exit 1 with every problem of a broken file."""
    error = app.extensions.get("skills_error")
    if error is not None:
        click.echo(str(error), err=True)
        sys.exit(1)
    return app.extensions["skills"]


def register_skills(app) -> None:
    skills_group = click.Group("skills", help="Check or draw skills.json.")
    app.cli.add_command(skills_group)

    @skills_group.command("check")
    def check_skills():
        """Validate skills.json: schema, references and every platform limit, in every locale."""
        loaded = loaded_skills(app)
        problems = schema_problems(loaded.data, app.extensions["settings"].skills_file)
        if problems:
            click.echo("\n".join(problems), err=True)
            sys.exit(1)
        assignments = sum(len(s["assignments"]) for s in loaded.catalog)
        source = app.extensions["settings"].skills_file
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
        click.echo(mermaid(loaded_skills(app)))


def register_setup(app) -> None:
    setup_group = click.Group("setup", help="Configure the platforms to talk to this bot (idempotent).")
    app.cli.add_command(setup_group)

    @setup_group.command("telegram")
    @click.option("--max-connections", default=40, show_default=True, help="parallel webhook deliveries")
    def setup_telegram(max_connections: int):
        """setWebhook (with the secret token) and the command list per language; prints getWebhookInfo."""
        import tg

        settings = app.extensions["settings"]
        if not settings.telegram_enabled or not settings.public_url.startswith("https://"):
            raise click.ClickException("needs TELEGRAM_BOT_TOKEN, TELEGRAM_SECRET_TOKEN and an https PUBLIC_URL")
        bot = tg.Telegram(settings, max_inline_wait=60)
        try:
            done = tg.setup(bot, loaded_skills(app), settings.public_url, max_connections)
        except SendFailed as error:
            raise click.ClickException(f"Telegram refused: {error}") from None
        click.echo("changed: " + (", ".join(done) if done else "nothing, already up to date"))
        info = bot.call("getWebhookInfo", {})["result"]
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))

    @setup_group.command("messenger")
    def setup_messenger():
        """Get Started button (GET_STARTED), greeting per locale, persistent menu, ice breakers."""
        import fb

        settings = app.extensions["settings"]
        if not settings.fb_page_access_token:
            raise click.ClickException("needs FB_PAGE_ACCESS_TOKEN")
        try:
            done = fb.setup(fb.Messenger(settings), loaded_skills(app))
        except SendFailed as error:
            raise click.ClickException(f"Messenger refused: {error}") from None
        click.echo("changed: " + (", ".join(done) if done else "nothing, already up to date"))


def register_telegram_poll(app) -> None:
    @app.cli.command("telegram-poll")
    @click.option("--stop-when-idle", is_flag=True, help="exit once there are no more updates (for scripts)")
    def telegram_poll(stop_when_idle: bool):
        """Long polling instead of a webhook, for trying a real bot with no public URL."""
        import tg

        settings = app.extensions["settings"]
        if not settings.telegram_bot_token:
            raise click.ClickException("needs TELEGRAM_BOT_TOKEN (from @BotFather)")
        skills, store = loaded_skills(app), loaded_store(app)
        bot = tg.Telegram(settings, sleep=app.extensions["chatbot"].sleep)

        guard = app.extensions["chatbot"].guard

        def handle(body: dict) -> bool:
            return not relay.deliver_all(bot.parse(body), bot, store, skills, guard=guard).retry

        click.echo("polling Telegram (the webhook is removed while this runs); Ctrl-C to stop")
        try:
            handled = tg.poll(bot, handle, stop_when_idle=stop_when_idle)
        except KeyboardInterrupt:
            return
        except SendFailed as error:
            raise click.ClickException(poll_failure(error)) from None
        click.echo(f"handled {handled} update(s)")


def poll_failure(error: SendFailed) -> str:
    if error.status in (401, 404):
        return f"Telegram refused the bot token ({error.status}): copy it again from @BotFather into TELEGRAM_BOT_TOKEN"
    if error.status == 409:
        return (
            "Telegram says something else takes this bot's updates (409): a webhook set meanwhile, or another "
            "telegram-poll running. Stop the other one and run this again"
        )
    if error.transient:
        return f"Telegram is not reachable ({error}): check the network and TELEGRAM_API_URL, then run this again"
    return f"Telegram refused: {error}"


def loaded_store(app):
    """The store, or exit 1 with the one line that says what is wrong with STORE_URL."""
    error = app.extensions.get("store_error")
    if error is not None:
        raise click.ClickException(str(error))
    return app.extensions["store"]


def register_suggestions(app) -> None:
    @app.cli.command("suggestions")
    @click.option("--limit", default=50, show_default=True)
    def list_suggestions(limit: int):
        """Show the skills users asked for, newest first."""
        store = loaded_store(app)
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
            items = loaded_store(app).filed("reports", limit)
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
}


def register_forget(app) -> None:
    @app.cli.command("forget")
    @click.argument("channel", type=click.Choice(["messenger", "telegram", "web"]))
    @click.argument("user_id")
    def forget_person(channel: str, user_id: str):
        """Delete everything kept about one person (a request by e-mail, say): their conversation,
        reminder, suggestions and reports. Prints what was deleted, and a receipt URL."""
        import erasure

        store, key = loaded_store(app), f"{channel}:{user_id.strip()}"
        if not user_id.strip():
            raise click.BadParameter("USER_ID is empty")
        try:
            receipt = erasure.forget(store, [key], "owner", always=False)
        except Exception as error:
            raise click.ClickException(f"store: {type(error).__name__}: {str(error)[:300]}") from None
        deleted = receipt["deleted"]
        if not deleted:
            click.echo(f"nothing stored for {key}: nothing to delete")
            return
        words = [
            DELETED_WORDS[name][deleted[name] != 1].format(n=deleted[name]) for name in DELETED_WORDS if name in deleted
        ]
        base = app.extensions["settings"].public_url or "http://127.0.0.1:8080"
        click.echo(f"deleted {key}: {', '.join(words)}; receipt {base}/deletion?id={receipt['id']}")


def register_stats(app) -> None:
    @app.cli.command("stats")
    @click.option("--days", default=30, show_default=True, type=click.IntRange(1, 60), help="the period, up to today")
    @click.option("--json", "as_json", is_flag=True, help="the numbers as JSON (every key is in the README)")
    def show_stats(days: int, as_json: bool):
        """People per channel, activity, messages, skills, reminders and what the bot did not understand."""
        import stats

        try:
            numbers = stats.collect(loaded_store(app), days, app.extensions["chatbot"].clock())
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
        click.echo("funnel: " + " > ".join(f"{k.replace('_', ' ')} {v}" for k, v in numbers["funnel"].items()))
        for row in numbers["unmatched"]:
            click.echo(f"  not understood ({row['people']}): {plain_text(row['text'])}")


def register_broadcast(app) -> None:
    import outreach

    @app.cli.command("broadcast")
    @click.argument("name")
    @click.option("--to", default="everyone", show_default=True, help=outreach.AUDIENCES)
    @click.option("--skill", default="", help="the catalog skill the announcement names, for {skill} in its payload")
    @click.option(
        "--dry-run", is_flag=True, help="count who would get it per channel, and who not and why; send nothing"
    )
    def send_broadcast(name: str, to: str, skill: str, dry_run: bool):
        """Send the announcement NAME (an intent of skills.json, like announce_new_skills) to an audience,
        once per person: a second run, or one after an interruption, sends only what is missing."""
        skills, store, services = loaded_skills(app), loaded_store(app), app.extensions["chatbot"]
        payload, event_id = announcement(skills, name, skill)
        try:
            outreach.audience(to)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--to") from None
        made: dict = {}

        def channel(which: str):
            if which == "telegram" and services.settings.telegram_enabled:  # a command may wait out a long 429
                import tg

                return made.setdefault(which, tg.Telegram(services.settings, sleep=services.sleep, max_inline_wait=60))
            return services.channels.get(which)

        def update_for(channel_name: str, user_id: str) -> Update:
            return Update(channel=channel_name, user_id=user_id, event_id=event_id, from_bot=True, payload=payload)

        click.echo(f"{name} to {to}{' (dry run: nothing is sent)' if dry_run else ''}")
        report = outreach.broadcast(
            store, channel, skills, update_for, to, dry_run=dry_run, clock=services.clock, sleep=services.sleep
        )
        sent = ", ".join(f"{n} on {c}" for c, n in sorted(report.sent.items())) or "nobody"
        click.echo(f"{'would get it' if dry_run else 'sent'}: {sum(report.sent.values())} ({sent})")
        for channel_name, reasons in sorted(report.skipped.items()):
            click.echo(f"skipped on {channel_name}: " + ", ".join(f"{n} {why}" for why, n in sorted(reasons.items())))
        if report.failed:
            click.echo(f"failed for now: {report.failed} (run the same command again: it sends only what is missing)")


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
