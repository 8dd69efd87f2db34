"""The mentor's reminders: the cadence, the next due time in the person's day, the card.

Pure rules and the actions that apply them. A reminder is a wake of the
conversation (``Conversation.wake_at``) with the payload ``REMINDER``;
outreach.py delivers it when it comes due, and ``send_reminder`` runs then.
"""

from __future__ import annotations

import math

from catalog import current_skill, next_item, offer, percent, skill_title
from chat import Button, Card, Context, Reply, shorten

PAYLOAD = "REMINDER"
LOCAL_HOUR = 18  # a sensible hour to be reminded when the person's time zone is known
MIN_DAYS, MAX_DAYS = 1, 7


def cadence_days(hours_per_week: float, next_minutes: float) -> int:
    """Days until the next assignment is due at this pace: its length over the daily time."""
    per_day = max(hours_per_week, 0.5) * 60 / 7
    return max(MIN_DAYS, min(MAX_DAYS, math.ceil(next_minutes / per_day)))


def next_due(now: float, days: float, tz_offset_hours: float | None, last_active_at: float) -> float:
    """``days`` from now, moved to LOCAL_HOUR in the person's time zone when known, otherwise to the
    hour of day they were last active (they were awake and reading then)."""
    target = now + days * 86400
    if tz_offset_hours is not None:
        local = target + tz_offset_hours * 3600
        start_of_day = local - local % 86400
        return start_of_day + LOCAL_HOUR * 3600 - tz_offset_hours * 3600
    if last_active_at:
        seconds_into_day = last_active_at % 86400
        return target - target % 86400 + seconds_into_day
    return target


def _every(ctx: Context, days: int) -> str:
    return ctx.t("every_day") if days == 1 else ctx.t("every_days", days=days)


def _days_arg(ctx: Context, default: int) -> int:
    value = str(ctx.args.get("days", ""))
    return int(value) if value.isascii() and value.isdigit() else default


def _schedule(ctx: Context, days: int) -> None:
    conv = ctx.conversation
    conv.reminder.update(enabled=True, every_days=days)
    conv.wake_at(next_due(ctx.now, days, conv.profile.get("timezone"), ctx.now), PAYLOAD)


def offer_reminders(ctx: Context, skill: dict, progress: dict) -> None:
    """Right after a plan starts: propose reminders at the pace the person chose."""
    item = next_item(ctx, skill, progress)
    days = cadence_days(progress["hours"], item["minutes"] if item else 60)
    reminder = ctx.conversation.reminder
    reminder.update(skill=skill["id"], every_days=days)
    if reminder.get("enabled"):
        _schedule(ctx, days)  # already on: follow the new plan
        return
    ctx.say(Reply(text=ctx.t("remind_offer", every=_every(ctx, days)), quick_replies=ctx.menu("reminder_offer")))


def reminders_on(ctx: Context) -> str | None:
    reminder = ctx.conversation.reminder
    if not reminder.get("skill"):
        skill, progress = current_skill(ctx)
        if skill is None or progress is None:
            return "no_skills_yet"
        reminder["skill"] = skill["id"]
    days = max(1, min(14, _days_arg(ctx, reminder.get("every_days", 2))))
    _schedule(ctx, days)
    ctx.say(Reply(text=ctx.t("remind_on", every=_every(ctx, days)), quick_replies=ctx.menu("reminder_cadence")))
    return None


def reminders_off(ctx: Context) -> str | None:
    ctx.conversation.reminder["enabled"] = False
    ctx.conversation.wake_at(None)
    return None


def reminders_status(ctx: Context) -> str | None:
    reminder = ctx.conversation.reminder
    if reminder.get("enabled"):
        text = ctx.t("remind_status_on", every=_every(ctx, reminder.get("every_days", 2)))
        ctx.say(Reply(text=text, quick_replies=ctx.menu("reminder_cadence")))
    else:
        ctx.say(Reply(text=ctx.t("remind_status_off"), quick_replies=ctx.menu("reminder_offer")))
    return None


def snooze(ctx: Context) -> str | None:
    if not ctx.conversation.reminder.get("enabled"):
        return "reminders"
    days = max(1, min(7, _days_arg(ctx, 1)))
    ctx.conversation.wake_at(ctx.now + days * 86400, PAYLOAD)
    ctx.say(Reply(text=ctx.t("snoozed"), quick_replies=ctx.menu("main_menu")))
    return None


def reminder_card(ctx: Context) -> Reply | None:
    """The reminder itself: one card (one message, for Telegram's one-per-second-per-chat rule)."""
    reminder = ctx.conversation.reminder
    skill = ctx.skills.skill(reminder.get("skill", ""))
    progress = ctx.conversation.progress.get(reminder.get("skill", ""))
    item = next_item(ctx, skill, progress) if skill and progress else None
    if item is None:
        reminder["enabled"] = False  # nothing left to remind about: the plan is done or dropped
        ctx.conversation.wake_at(None)
        return None
    done, total, _ = percent(ctx, skill, progress)
    card = Card(
        title=shorten(ctx.t("reminder_title", title=item["title"]), 80),
        subtitle=shorten(ctx.t("reminder_subtitle", skill_title=skill_title(ctx, skill), done=done, total=total), 80),
        image_url=skill.get("image", ""),
        url=item["url"],
        buttons=[
            Button(title=ctx.t("btn_open"), url=item["url"]),
            Button(title=ctx.t("btn_done"), payload=f"DONE:{skill['id']}:{item['id']}"),
            Button(title=ctx.t("btn_snooze"), payload="SNOOZE:1"),
        ],
    )
    offer(progress, item)
    return Reply(cards=[card])


def send_reminder(ctx: Context) -> str | None:
    """Run when the reminder's wake comes due and the channel allows it."""
    conv = ctx.conversation
    if not conv.reminder.get("enabled") or not ctx.update.from_bot:
        return None  # not ours to say (a pressed REMINDER payload, or reminders went off)
    card = reminder_card(ctx)
    if card is not None:
        ctx.say(card)
        conv.reminder["last_sent_at"] = ctx.now
        every = conv.reminder.get("every_days", 2)
        conv.wake_again(next_due(ctx.now, every, conv.profile.get("timezone"), conv.last_message_at))
    return None


def pending_reminder(ctx: Context) -> str | None:
    """The person is back after their channel did not allow the reminder: show it, then carry on."""
    conv = ctx.conversation
    if not conv.reminder.get("enabled"):
        return None
    card = reminder_card(ctx)
    if card is None:
        return None
    ctx.say(Reply(text=ctx.t("while_away")))
    ctx.say(card)
    _schedule(ctx, conv.reminder.get("every_days", 2))
    return None


ACTIONS = {
    "reminders_on": reminders_on,
    "reminders_off": reminders_off,
    "reminders_status": reminders_status,
    "snooze": snooze,
    "send_reminder": send_reminder,
    "pending_reminder": pending_reminder,
}
