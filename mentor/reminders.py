"""The mentor's reminders: the cadence, the next due time in the person's day, the card.

Pure rules and the actions that apply them. A reminder is a wake of the
conversation (``Conversation.wake_at``) with the payload ``REMINDER``;
chatbot/outreach/wakes.py delivers it when it comes due, and ``send_reminder`` runs then.
"""

from __future__ import annotations

import math
import time

from chatbot.core.text import shorten
from chatbot.engine import also_said, clock, time_words, understand
from chatbot.engine.context import Context
from chatbot.engine.skills_check import WEEKDAYS
from chatbot.engine.types import Button, Card, Reply
from mentor.catalog import current_skill, next_item, percent, resource, show, skill_title

PAYLOAD = "REMINDER"
LOCAL_HOUR = 19  # the hour a reminder comes when the person has not chosen one (their time zone known)
EARLIEST_HOUR, LATEST_HOUR = 7, 21  # never in the person's night: reminders come between these hours
WINDOW_MARGIN = 3600.0  # inside a channel's window with room to spare (the scheduler runs every 15 minutes)
MIN_DAYS, MAX_DAYS = 1, 7


def cadence_days(hours_per_week: float, next_minutes: float) -> int:
    """Days until the next assignment is due at this pace: its length over the daily time."""
    per_day = max(hours_per_week, 0.5) * 60 / 7
    return max(MIN_DAYS, min(MAX_DAYS, math.ceil(next_minutes / per_day)))


def next_due(
    now: float, days: float, tz_offset_hours: float | None, last_active_at: float, hour: float | None = None
) -> float:
    """``days`` from now, at ``hour`` (or LOCAL_HOUR) in the person's time zone when known, otherwise at
    the hour of day they were last active (they were awake and reading then)."""
    target = now + days * 86400
    if tz_offset_hours is not None:
        local = target + tz_offset_hours * 3600
        start_of_day = local - local % 86400
        return start_of_day + (LOCAL_HOUR if hour is None else hour) * 3600 - tz_offset_hours * 3600
    if last_active_at:
        seconds_into_day = last_active_at % 86400
        return target - target % 86400 + seconds_into_day
    return target


def local_hour(at: float, tz_offset_hours: float) -> float:
    return ((at + tz_offset_hours * 3600) % 86400) / 3600


def fit_window(want: float, now: float, window_until: float | None, tz_offset_hours: float | None) -> float:
    """When to remind, given that the channel lets the bot write only until ``window_until``
    (Messenger: 24 hours after the person's last message). Earlier than wanted if need be, with
    room to spare, and never in the person's night when their time zone is known. A reminder that
    cannot fit any more stays as wanted: the channel will hold it until they write again."""
    if window_until is None or want <= window_until - WINDOW_MARGIN:
        return want
    at = window_until - WINDOW_MARGIN
    if tz_offset_hours is not None:
        hour = local_hour(at, tz_offset_hours)
        if hour < EARLIEST_HOUR:  # early morning: the evening before
            at -= (hour + 24 - LATEST_HOUR) * 3600
        elif hour > LATEST_HOUR:  # late evening: earlier the same evening
            at -= (hour - LATEST_HOUR) * 3600
    return at if at > now else want


def _every(ctx: Context, days: int) -> str:
    return ctx.t("every_day") if days == 1 else ctx.t("every_days", days=days)


def _days_arg(ctx: Context, default: int) -> int:
    value = str(ctx.args.get("days", ""))
    return int(value) if value.isascii() and value.isdigit() else default


def _days_to(ctx: Context, weekday: str) -> int:
    """Days from the person's today to their next ``weekday`` ("mon"..."sun"; 7 when it is
    today's), by their time zone when known; 1 when no day is named."""
    if weekday not in WEEKDAYS:
        return 1
    tz = ctx.conversation.profile.get("timezone")
    today = time.gmtime(ctx.now + (float(tz) if tz is not None else 0.0) * 3600).tm_wday
    return (WEEKDAYS.index(weekday) - today) % 7 or 7


def _window_until(ctx: Context) -> float | None:
    """Until when the channel lets the bot write unprompted, or None when it always may."""
    return ctx.conversation.last_message_at + ctx.window if ctx.window else None


def _remind_in(ctx: Context, days: int) -> None:
    """The reminder ``days`` from now, at the person's hour when their time zone is known, fitted
    into the channel's window; the time first wanted is kept for refitting when they write again."""
    conv = ctx.conversation
    tz = conv.profile.get("timezone")
    want = next_due(ctx.now, days, tz, ctx.now, wanted_hour(conv.reminder))
    conv.wake_at(fit_window(want, ctx.now, _window_until(ctx), tz), PAYLOAD)
    conv.wake["want"] = want


def _schedule(ctx: Context, days: int) -> None:
    ctx.conversation.reminder.update(enabled=True, every_days=days)
    _remind_in(ctx, days)


def refit_reminder(ctx: Context) -> str | None:
    """After each message from the person: their window moved, so a reminder can come later again."""
    wake = ctx.conversation.wake
    if wake.get("payload") == PAYLOAD and wake.get("want"):
        tz = ctx.conversation.profile.get("timezone")
        wake["at"] = fit_window(wake["want"], ctx.now, _window_until(ctx), tz)
    return None


def follow_plan(ctx: Context, skill: dict, progress: dict) -> int:
    """Reminders about ``skill`` at its pace (its hours and the next step's length); rescheduled when on."""
    item = next_item(ctx, skill, progress)
    days = cadence_days(progress["hours"], item["minutes"] if item else 60)
    ctx.conversation.reminder.update(skill=skill["id"], every_days=days)
    if ctx.conversation.reminder.get("enabled"):
        _schedule(ctx, days)
    return days


def offer_reminders(ctx: Context, skill: dict, progress: dict) -> None:
    """Right after a plan starts: propose reminders at the pace the person chose."""
    days = follow_plan(ctx, skill, progress)
    if ctx.conversation.reminder.get("enabled"):
        return  # already on: they follow the new plan
    ctx.say(Reply(text=ctx.t("remind_offer", every=_every(ctx, days)), quick_replies=ctx.menu("reminder_offer")))


def reminders_on(ctx: Context) -> str | None:
    reminder = ctx.conversation.reminder
    if not reminder.get("skill"):
        skill, progress = current_skill(ctx)
        if skill is None or progress is None:
            return "no_skills_yet"
        reminder["skill"] = skill["id"]
    days = max(1, min(14, _days_arg(ctx, reminder.get("every_days", 2))))
    first_time = not reminder.get("enabled")
    _schedule(ctx, days)
    ctx.say(Reply(text=ctx.t("remind_on", every=_every(ctx, days), at=_at(ctx))))
    if first_time and ctx.window:
        ctx.say(Reply(text=ctx.t("remind_how_window")))  # the channel's rule, said once, in the bot's words
    unplaced = reminder.get("hour") is not None  # an hour chosen, and no time zone to place it in
    if ctx.conversation.profile.get("timezone") is None and (
        unplaced or not ctx.conversation.profile.get("asked_time")
    ):
        ctx.conversation.profile["asked_time"] = True
        ctx.say(Reply(text=ctx.t("ask_local_time"), quick_replies=ctx.menu("local_time_skip")))
        ctx.set_state("asking_time")
        return None
    ctx.say(Reply(text=ctx.t("remind_choices"), quick_replies=ctx.menu("reminder_cadence")))
    return None


def wanted_hour(reminder: dict) -> float | None:
    """The time of day the person chose for their reminders, in hours ("7:30 pm": 19.5), or None."""
    hour = reminder.get("hour")
    return None if hour is None else hour + reminder.get("minute", 0) / 60


def _at(ctx: Context) -> str:
    reminder = ctx.conversation.reminder
    if ctx.conversation.profile.get("timezone") is None and reminder.get("hour") is not None:
        return ctx.t("at_hour_pending", hour=f"{reminder['hour']}:{reminder.get('minute', 0):02d}")
    if ctx.conversation.profile.get("timezone") is None:
        return ctx.t("at_usual_time")
    hour = reminder.get("hour")
    return ctx.t(
        "at_hour",
        hour=f"{LOCAL_HOUR if hour is None else hour}:{reminder.get('minute', 0) if hour is not None else 0:02d}",
    )


def parse_clock(text: str, table: dict | None = None) -> tuple[int, int] | None:
    """ "18:30", "6:30 pm", "6pm", "18h", "a las 7 de la tarde", "every evening at 7" -> (hour,
    minute) on a 24-hour clock, or None (read by chatbot/engine/clock.py with ``table``, the
    ``durations`` vocabulary: its words for parts of the day)."""
    return clock.of_day(text, table or {})


def set_local_time(ctx: Context) -> str | None:
    """The person said what time it is for them: their UTC offset, to the quarter hour. How often
    ("twice a week") or when they want the reminders ("make it 9 in the morning", "a las 8 de la
    noche") is no time of theirs: those are set instead."""
    text = str(ctx.args.get("text") or ctx.update.text)
    table = ctx.skills.words(ctx.locale, "durations")
    days = also_said.cadence(text, table, ctx.locale)
    if days:
        ctx.args["days"] = days
        return "remind_every"
    wanted = clock.of_day(text, table, ctx.locale, part_of_day=True)
    in_window = wanted is not None and EARLIEST_HOUR <= wanted[0] <= LATEST_HOUR  # "11 at night": the time now
    if wanted is not None and in_window and _asks_for_a_time(text, ctx.skills.words(ctx.locale, "meanings")):
        ctx.args["hour"] = str(wanted[0])
        return "remind_at"
    pressed = (str(ctx.args.get("hour", "")), str(ctx.args.get("minute", "")))
    said = (int(pressed[0]), int(pressed[1])) if all(p.isdigit() for p in pressed) else parse_clock(text, table)
    if said is None:
        ctx.say(Reply(text=ctx.t("local_time_unclear"), quick_replies=ctx.menu("local_time_skip")))
        ctx.set_state("asking_time")
        return None
    if not ctx.update.payload and 1 <= said[0] <= 11 and not _half_of_day_said(text, table, ctx.locale):
        # "it's like 7": morning or evening? Guessing would put every reminder twelve hours off.
        ctx.args["offers"] = [f"LOCAL:{h}:{said[1]:02d}" for h in (said[0], said[0] + 12)]
        ctx.set_state("asking_time")
        return "clarify"
    local_minutes = said[0] * 60 + said[1]
    utc_minutes = (ctx.now % 86400) / 60
    offset = (local_minutes - utc_minutes + 720) % 1440 - 720  # the nearest day: -12 h to +12 h
    conv = ctx.conversation
    conv.profile["timezone"] = round(offset / 15) * 0.25
    if conv.reminder.get("enabled"):
        _schedule(ctx, conv.reminder.get("every_days", 2))
    ctx.say(Reply(text=ctx.t("local_time_set", at=_at(ctx)), quick_replies=ctx.menu("reminder_hours")))
    return None


def _asks_for_a_time(text: str, meanings: dict) -> bool:
    """Whether a time is said as the one wanted for reminders ("make it 9", "at 8 please", "a las
    8 de la noche"), not as the time it is now ("18:30", "it's 3pm here", "son las 5")."""
    return understand.says_any(text, meanings.get("wanted_time", []))


def _half_of_day_said(text: str, table: dict, locale: str) -> bool:
    """Whether a time says which half of the day it is in: am or pm, a part of the day ("in the
    morning", "de la tarde"), or a 24-hour clock ("19:00", "07:30", "18h")."""
    words = [*table.get("am", []), *table.get("pm", []), *table.get("morning", []), *table.get("evening", [])]
    if understand.says_any(text, [*words, *table.get("noon", []), *table.get("midnight", [])]):
        return True
    toks = time_words.tokens(text, locale)
    hours = [t for n, t in enumerate(toks) if t.isdigit() and not (n and toks[n - 1] == ":")]  # "6:30": 6, not 30
    return any(int(t) > 12 or (len(t) == 2 and t.startswith("0")) for t in hours) or "h" in toks


def remind_at(ctx: Context) -> str | None:
    """The person picks the hour of their reminders (a button, or typed: "remind me at 7pm")."""
    asked_the_time = ctx.conversation.state == "asking_time" and not ctx.update.payload
    if asked_the_time and not _asks_for_a_time(ctx.update.text, ctx.skills.words(ctx.locale, "meanings")):
        return "local_time"  # "6:30 pm" to "what time is it where you are?": the time it is now
    hour = ctx.args.get("hour")
    table = ctx.skills.words(ctx.locale, "durations")
    typed = clock.of_day(ctx.update.text, table, part_of_day=True)
    said = typed
    if isinstance(hour, str) and hour.isdigit() and (typed is None or typed[0] != int(hour)):
        said = (int(hour), 0)  # a button's hour, or the hour read with another act ("yes at 7")
    if said is None or not EARLIEST_HOUR <= said[0] <= LATEST_HOUR:
        ctx.say(
            Reply(
                text=ctx.t("remind_hour_unclear", earliest=EARLIEST_HOUR, latest=LATEST_HOUR),
                quick_replies=ctx.menu("reminder_hours"),
            )
        )
        return None
    later = said[0] + 12
    if not ctx.update.payload and later <= LATEST_HOUR and not _half_of_day_said(ctx.update.text, table, ctx.locale):
        # "remind me at 7": 7:00 or 19:00 are both waking hours; which, as two buttons (how often,
        # when said, is kept for them: "every day at 8")
        if ctx.args.get("days"):
            ctx.conversation.reminder["every_days"] = max(1, min(14, _days_arg(ctx, 2)))
        ctx.args["offers"] = [f"REMIND_AT:{said[0]}", f"REMIND_AT:{later}"]
        return "clarify"
    conv = ctx.conversation
    conv.reminder["hour"] = said[0]
    if said[1]:
        conv.reminder["minute"] = said[1]  # "7:30 pm": at half past, not at 7
    else:
        conv.reminder.pop("minute", None)
    ctx.args["hour"] = str(said[0])
    if not conv.reminder.get("enabled"):
        return "remind_on"  # "remind me at 7pm" typed, or an hour's button pressed: reminders on, at that hour
    if conv.reminder.get("enabled"):
        _schedule(ctx, max(1, min(14, _days_arg(ctx, conv.reminder.get("every_days", 2)))))  # "every day at 8"
    if conv.profile.get("timezone") is None:
        # "at 9am please" before the bot knows their time: that hour is kept, and the question that
        # places it in their day is asked (again), not "around the time you're usually here"
        hour = f"{said[0]}:{said[1]:02d}"
        ctx.say(Reply(text=ctx.t("remind_hour_needs_zone", hour=hour), quick_replies=ctx.menu("local_time_skip")))
        ctx.set_state("asking_time")
        return None
    ctx.say(Reply(text=ctx.t("remind_hour_set", at=_at(ctx)), quick_replies=ctx.menu("reminder_cadence")))
    return None


def reminders_off(ctx: Context) -> str | None:
    ctx.conversation.reminder["enabled"] = False
    ctx.conversation.wake_at(None)
    if understand.says_any(ctx.update.text, ctx.skills.words(ctx.locale, "meanings").get("all_messages", [])):
        ctx.conversation.news["off"] = True  # "stop messaging me": no announcements either, as the reply says
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
    # "Tomorrow": at their hour when their time zone is known, otherwise this time tomorrow; "on
    # monday": the days until their next Monday.
    _remind_in(ctx, max(1, min(7, _days_arg(ctx, _days_to(ctx, str(ctx.args.get("weekday", "")))))))
    ctx.say(Reply(text=ctx.t("snoozed"), quick_replies=ctx.menu("main_menu")))
    return None


def reminder_card(ctx: Context) -> Reply | None:
    """The reminder itself: one card (one message, for Telegram's one-per-second-per-chat rule)."""
    reminder = ctx.conversation.reminder
    skill = ctx.skills.skill(reminder.get("skill", ""))
    progress = ctx.conversation.progress.get(reminder.get("skill", ""))
    item = next_item(ctx, skill, progress) if skill and progress else None
    if skill is None or progress is None or item is None:
        reminder["enabled"] = False  # nothing left to remind about: the plan is done or dropped
        ctx.conversation.wake_at(None)
        return None
    done, total, _ = percent(ctx, skill, progress)
    shown = resource(item, progress, ctx.locale)
    card = Card(
        title=shorten(ctx.t("reminder_title", title=shown["title"]), 80),
        subtitle=shorten(ctx.t("reminder_subtitle", skill_title=skill_title(ctx, skill), done=done, total=total), 80),
        image_url=skill.get("image", ""),
        url=shown["url"],
        buttons=[
            Button(title=ctx.t("btn_open"), url=shown["url"]),
            Button(title=ctx.t("btn_done"), payload=f"DONE:{skill['id']}:{item['id']}"),
            Button(title=ctx.t("btn_snooze"), payload="SNOOZE:1"),
        ],
    )
    show(ctx, skill, progress, item)
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
        every, tz = conv.reminder.get("every_days", 2), conv.profile.get("timezone")
        want = next_due(ctx.now, every, tz, conv.last_message_at, wanted_hour(conv.reminder))
        # Not pulled into the window this nudge used: one nudge, then nothing until they answer
        # (their answer refits it, see refit_reminder); unanswered, the channel holds it when due.
        conv.wake_again(want, want)
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
    "refit_reminder": refit_reminder,
    "set_local_time": set_local_time,
    "remind_at": remind_at,
}
