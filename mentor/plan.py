"""The learner's plan: level and hours, read from words, and changed only when the person means it.

A plan is built once, when the person answers the level and hours questions in
turn. A button from an older message (chat apps keep them) or a typed "change
my hours" changes the plan of a skill in progress only after asking, and
never loses what was done; dropping a skill asks first and can be undone.
"""

from __future__ import annotations

import math
import re

from chatbot.engine.context import Context
from chatbot.engine.types import Button, Reply
from chatbot.engine.understand import fold
from mentor import catalog, reminders
from mentor.catalog import LEVELS, skill_title
from mentor.steps import say_next

MAX_HOURS = 80  # a week has 168; more than this is a typo
PER_PERIOD = {"day": 7.0, "weekday": 5.0, "week": 1.0, "weekend": 1.0, "month": 7 / 30.4}
KEEP_DROPPED = 3


# ---------------------------------------------------------------- hours, as people say them


def _words(table: dict, key: str) -> str:
    phrases = sorted({fold(p) for p in table.get(key, [])}, key=len, reverse=True)
    return "|".join(re.escape(p) for p in phrases) or "(?!)"


def _numbers(said: str, numbers: dict, unit: str) -> str:
    """Number words to digits; "a", "an", "una" only before a unit ("an hour", not "a day")."""
    for phrase, value in sorted(numbers.items(), key=lambda p: -len(p[0])):
        follow = rf"(?=\s+(?:{unit})(?![a-z]))" if len(phrase) <= 3 and value == 1 else r"(?=\W)"
        said = re.sub(rf"(?<=\W){re.escape(fold(phrase))}{follow}", f" {value} ", said)
    return said


def hours_per_week(text: str, table: dict) -> float | None:
    """ "30 minutes a day" -> 3.5, "cinco horas" -> 5, "2-3 h" -> 2.5, "10 a month" -> 2.3; None when
    no amount of time is said. ``table`` is the ``durations`` vocabulary (numbers and unit words)."""
    w = {k: _words(table, k) for k in ("hour", "minute", "half", "and_half", "range", "days", *PER_PERIOD)}
    said = " " + re.sub(r"(\d),(\d)", r"\1.\2", fold(text)) + " "
    said = re.sub(rf"\s(?:{w['and_half']})(?=\W)", " § ", said)
    said = re.sub(rf"(?<=\W)(?:{w['half']})(?=\W)", " 0.5 ", said)
    said = _numbers(said, table.get("numbers", {}), f"{w['hour']}|{w['minute']}")
    number = r"(\d+(?:\.\d+)?)"
    said = re.sub(
        rf"{number}\s*(?:-|–|\s(?:{w['range']})\s)\s*{number}",
        lambda m: f"{(float(m.group(1)) + float(m.group(2))) / 2:g}",
        said,
    )
    found = list(re.finditer(rf"{number}\s*(?:({w['hour']})|({w['minute']})|({w['days']}))?(?![a-z\d])", said))
    amounts = [m for m in found if not m.group(4)]
    amount = next((m for m in amounts if m.group(2) or m.group(3)), amounts[0] if amounts else None)
    if amount is None:
        return None
    value = float(amount.group(1))
    after = said[amount.end() : amount.end() + 12]
    if re.match(r"\s*§", after):
        value += 0.5
    elif amount.group(2) and re.match(r"\s*(15|30|45)(?!\d)", after):
        value += int(after.strip()[:2]) / 60
    period = next((p for p in PER_PERIOD if re.search(rf"(?<=\W)(?:{w[p]})(?=\W)", said)), "")
    if amount.group(3):  # minutes: per day unless a period says otherwise
        value, period = value / 60, period or "day"
    days = next((m for m in found if m.group(4)), None)
    if days and amount.group(2) and period in ("", "week"):
        value, period = value * min(7, float(days.group(1))), "week"
    weekly = value * PER_PERIOD.get(period, 1.0)
    return weekly if weekly > 0 else None


def whole_hours(weekly: float | None) -> int | None:
    """A week's hours as the plan keeps them: at least 1, at most MAX_HOURS, else None."""
    if weekly is None or weekly > MAX_HOURS + 0.5:
        return None
    return max(1, math.floor(weekly + 0.5))


def _hours_from(ctx: Context) -> int | None:
    raw = str(ctx.args.get("hours") or "")
    if raw.isascii() and raw.isdigit():
        return int(raw) if 1 <= int(raw) <= MAX_HOURS else None
    return whole_hours(
        hours_per_week(str(ctx.args.get("text") or ctx.update.text), ctx.skills.words(ctx.locale, "durations"))
    )


# ---------------------------------------------------------------- level and hours, in turn


def _skill_in_question(ctx: Context) -> tuple[dict | None, dict | None]:
    """The skill a level or hours answer is for: the button's own, else the one being set up."""
    skill = ctx.skills.skill(ctx.args.get("skill") or ctx.conversation.slots.get("skill", ""))
    return skill, (ctx.conversation.progress.get(skill["id"]) if skill else None)


def _in_progress(progress: dict | None) -> bool:
    return progress is not None and bool(progress) and not progress.get("finished_at")


def _confirm(ctx: Context, text: str, yes: Button, no: Button) -> None:
    ctx.say(Reply(text=text, quick_replies=[yes, no]))


def _ask_before_changing(
    ctx: Context, skill: dict, progress: dict, key: str, value, payload: str, **fields
) -> str | None:
    """An old level or hours button for a skill under way: nothing to do when it says what the plan
    already has; otherwise ask, with ``payload`` behind "Yes" and the plan kept behind "No"."""
    if progress.get(key) == value:
        return "next_assignment"
    done, total, _ = catalog.percent(ctx, skill, progress)
    _confirm(
        ctx,
        ctx.t(f"confirm_{key}", skill_title=skill_title(ctx, skill), done=done, total=total, **fields),
        Button(ctx.t("btn_yes_change"), payload=payload, means=("yes",)),
        Button(ctx.t("btn_keep"), payload=f"NEXT:{skill['id']}", means=("no", "later")),
    )
    return None


def choose_level(ctx: Context) -> str | None:
    skill, progress = _skill_in_question(ctx)
    level = ctx.args.get("level", "")
    if skill is None:
        return "unknown_skill"
    if level not in LEVELS:
        return "level_unclear"
    asked = ctx.conversation.state == "choosing_level" and ctx.conversation.slots.get("skill") == skill["id"]
    if not asked and progress is not None and _in_progress(progress):
        payload = f"SETLEVEL:{skill['id']}:{level}"
        return _ask_before_changing(ctx, skill, progress, "level", level, payload, level=ctx.t(f"level_{level}"))
    ctx.conversation.slots.update(skill=skill["id"], skill_title=skill_title(ctx, skill), level=level)
    ctx.say(Reply(text=ctx.t("ask_hours"), quick_replies=ctx.menu("hours")))
    ctx.set_state("choosing_hours")
    return None


def choose_hours(ctx: Context) -> str | None:
    skill, progress = _skill_in_question(ctx)
    hours = _hours_from(ctx)
    if skill is None:
        return "unknown_skill"
    if hours is None:
        return "hours_unclear"
    slots = ctx.conversation.slots
    asked = ctx.conversation.state == "choosing_hours" and slots.get("skill") == skill["id"]
    if not asked and progress is not None and _in_progress(progress):
        return _ask_before_changing(ctx, skill, progress, "hours", hours, f"PACE:{skill['id']}:{hours}", hours=hours)
    if slots.get("skill") != skill["id"] or slots.get("level") not in LEVELS:
        ctx.args["skill"] = skill["id"]
        return "pick_skill"  # an hours button from a set-up never finished: ask the level first
    start_plan(ctx, skill, slots["level"], hours)
    return None


def start_plan(ctx: Context, skill: dict, level: str, hours: int) -> None:
    progress = {"level": level, "hours": hours, "done": [], "started_at": ctx.now}
    ctx.conversation.progress[skill["id"]] = progress
    plan = catalog.level_plan(ctx, skill, progress)
    minutes = sum(a["minutes"] for a in plan)
    weeks = max(1, math.ceil(minutes / (hours * 60)))
    duration = ctx.t("duration_one" if weeks == 1 else "duration_many", weeks=weeks)
    lead = ctx.t("plan_ready", hours=hours, count=len(plan), duration=duration, skill_title=skill_title(ctx, skill))
    say_next(ctx, skill, progress, lead)
    reminders.offer_reminders(ctx, skill, progress)


# ---------------------------------------------------------------- changing a plan in progress


def change_pace(ctx: Context) -> str | None:
    """PACE:{skill}:{hours} (a confirmed change) or typed "change my hours to 10": new hours, same
    progress, reminders at the new pace."""
    skill, progress = _skill_in_question(ctx)
    if skill is None or progress is None:
        skill, progress = catalog.current_skill(ctx)
    if skill is None or progress is None:
        return "no_skills_yet"
    hours = _hours_from(ctx)
    ctx.conversation.slots.update(skill=skill["id"], skill_title=skill_title(ctx, skill))
    if hours is None:
        ctx.say(Reply(text=ctx.t("ask_new_hours", skill_title=skill_title(ctx, skill)), quick_replies=ctx.menu("pace")))
        return None
    progress["hours"] = hours
    done, total, _ = catalog.percent(ctx, skill, progress)
    text = ctx.t("pace_changed", skill_title=skill_title(ctx, skill), hours=hours, done=done, total=total)
    ctx.say(Reply(text=text, quick_replies=ctx.menu("after_change")))
    reminder = ctx.conversation.reminder
    if reminder.get("enabled") and reminder.get("skill") == skill["id"]:
        reminders.follow_plan(ctx, skill, progress)
    return None


def set_level(ctx: Context) -> str | None:
    """SETLEVEL:{skill}:{level}, confirmed: the plan of the new level, every step done still done."""
    skill, progress = _skill_in_question(ctx)
    level = ctx.args.get("level", "")
    if skill is None or progress is None or level not in LEVELS:
        return "unknown_skill" if skill is None else "pick_skill"
    progress["level"] = level
    progress.pop("finished_at", None)
    done, total, _ = catalog.percent(ctx, skill, progress)
    lead = ctx.t(
        "level_changed", skill_title=skill_title(ctx, skill), level=ctx.t(f"level_{level}"), done=done, total=total
    )
    say_next(ctx, skill, progress, lead)
    return None


# ---------------------------------------------------------------- dropping, with a way back


def drop_skill(ctx: Context) -> str | None:
    """DROP:{skill} or "drop python": asks first."""
    skill, progress = _skill_in_question(ctx)
    if skill is None or progress is None:
        return "unknown_skill" if ctx.args.get("skill") else "no_skills_yet"
    done, total, _ = catalog.percent(ctx, skill, progress)
    _confirm(
        ctx,
        ctx.t("confirm_drop", skill_title=skill_title(ctx, skill), done=done, total=total),
        Button(ctx.t("btn_yes_drop"), payload=f"DROP_YES:{skill['id']}", means=("yes",)),
        Button(ctx.t("btn_keep"), payload=f"NEXT:{skill['id']}", means=("no", "later")),
    )
    return None


def drop_confirmed(ctx: Context) -> str | None:
    skill, progress = _skill_in_question(ctx)
    if skill is None or progress is None:
        return "unknown_skill" if skill is None else "no_skills_yet"
    conv = ctx.conversation
    dropped = conv.dropped
    dropped[skill["id"]] = conv.progress.pop(skill["id"])
    while len(dropped) > KEEP_DROPPED:
        dropped.pop(next(iter(dropped)))
    if conv.slots.get("skill") == skill["id"]:
        conv.slots.pop("shown", None)
    text = ctx.t("dropped", skill_title=skill_title(ctx, skill))
    undo = Button(ctx.t("btn_undo"), payload=f"UNDROP:{skill['id']}")
    ctx.say(Reply(text=text, quick_replies=[undo, *ctx.menu("browse_only")]))
    return None


def undo_drop(ctx: Context) -> str | None:
    skill, _ = _skill_in_question(ctx)
    kept = ctx.conversation.dropped.pop(skill["id"], None) if skill else None
    if skill is None or kept is None:
        return "unknown_skill" if skill is None else "next_assignment"
    ctx.conversation.progress[skill["id"]] = kept
    ctx.say(Reply(text=ctx.t("undropped", skill_title=skill_title(ctx, skill))))
    return "next_assignment"


ACTIONS = {
    "choose_level": choose_level,
    "choose_hours": choose_hours,
    "change_pace": change_pace,
    "set_level": set_level,
    "drop_skill": drop_skill,
    "drop_confirmed": drop_confirmed,
    "undo_drop": undo_drop,
}
