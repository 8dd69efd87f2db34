"""The owner's commands about the people the bot talks to: `flask --app app suggestions`,
`reports`, `forget CHANNEL USER`, `stats` and `broadcast`."""

from __future__ import annotations

import json
import time

import click

from chatbot.core import channels as registry
from chatbot.core import outbound
from chatbot.core.text import plain_text
from chatbot.engine import skills as skills_module
from chatbot.engine.types import Update
from chatbot.service.parts import Services


def register(app, services: Services) -> None:
    register_suggestions(app, services)
    register_forget(app, services)
    register_stats(app, services)
    register_broadcast(app, services)


def register_suggestions(app, services: Services) -> None:
    @app.cli.command("suggestions")
    @click.option("--limit", default=50, show_default=True)
    def list_suggestions(limit: int):
        """Show the skills users asked for, newest first."""
        store = services.loaded_store()
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
            items = services.loaded_store().filed("reports", limit)
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

        store, key = services.loaded_store(), f"{channel}:{user_id.strip()}"
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
            numbers = stats.collect(services.loaded_store(), days, services.clock())
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
        skills, store = services.loaded_skills(), services.loaded_store()
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
