"""The learner's plan: level and hours, read from words, and changed only when the person means it.

A plan is built once, when the person answers the level and hours questions in
turn. A button from an older message (chat apps keep them) or a typed "change
my hours" changes the plan of a skill in progress only after asking, and
never loses what was done; dropping a skill asks first and can be undone.
"""

from __future__ import annotations

import math

from chatbot.engine import amounts
from chatbot.engine.context import Context
from chatbot.engine.types import Button, Reply
from mentor import catalog, reminders
from mentor.catalog import LEVELS, skill_title
from mentor.steps import say_next
from mentor.upgrade import CATALOG_VERSION

MAX_HOURS = 80  # a week has 168; more than this is a typo
KEEP_DROPPED = 3


# ---------------------------------------------------------------- hours, as people say them


def hours_per_week(text: str, table: dict) -> float | None:
    """ "30 minutes a day" -> 3.5, "cinco horas" -> 5, "2-3 h" -> 2.5, "1 hora al dia de lunes a
    viernes" -> 5; None when no amount of time is said (read by chatbot/engine/amounts.py).
    ``table`` is the ``durations`` vocabulary (numbers and unit words)."""
    return amounts.hours_per_week(text, table)


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
    hours = _hours_from(ctx) if ctx.args.get("hours") else _hours_said_before(ctx, skill)
    if hours is not None:  # "complete beginner, 3 hours a week": both answers at once
        _remember_hour(ctx)
        start_plan(ctx, skill, level, hours)
        ctx.set_state(None)
        return None
    ctx.say(Reply(text=ctx.t("ask_hours"), quick_replies=ctx.menu("hours")))
    ctx.set_state("choosing_hours")
    return None


def choose_skill_saying_level(ctx: Context) -> str | None:
    """A skill picked with its level said at once ("quiero python, soy principiante"; "git,
    intermediate, 4 hours a week"): the level question is answered already, and the hours one
    when they are said too. A skill under way or no level said: as any pick."""
    redirect = ctx.skills.actions["choose_skill"](ctx)
    slots = ctx.conversation.slots
    slots.pop("hours_said", None)
    if redirect or ctx.args.get("level") not in LEVELS:
        hours = _hours_from(ctx) if not redirect and ctx.args.get("hours") else None
        if hours is not None:  # "excel, unas 2 horas por día": kept for after the level question
            slots["hours_said"] = f"{slots.get('skill', '')}:{hours}"
        return redirect
    return "choose_level"


def _hours_said_before(ctx: Context, skill: dict) -> int | None:
    """The hours a week said with the pick of ``skill``, before its level was asked."""
    said_for, _, hours = str(ctx.conversation.slots.pop("hours_said", "")).partition(":")
    return int(hours) if said_for == skill["id"] and hours.isdigit() else None


def _remember_hour(ctx: Context) -> None:
    """A time for reminders said with an answer ("5 hours a week, remind me at 7pm")."""
    hour = str(ctx.args.get("hour", ""))
    if hour.isascii() and hour.isdigit() and reminders.EARLIEST_HOUR <= int(hour) <= reminders.LATEST_HOUR:
        ctx.conversation.reminder["hour"] = int(hour)
        ctx.conversation.reminder.pop("minute", None)  # a new hour said whole: not at the old one's minutes


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
    if ctx.args.get("level") in LEVELS and slots.get("skill") == skill["id"]:
        slots["level"] = ctx.args["level"]  # "5 hours, and I'm intermediate actually"
    if slots.get("skill") != skill["id"] or slots.get("level") not in LEVELS:
        ctx.args["skill"] = skill["id"]
        return "pick_skill"  # an hours button from a set-up never finished: ask the level first
    _remember_hour(ctx)
    start_plan(ctx, skill, slots["level"], hours)
    return None


def start_plan(ctx: Context, skill: dict, level: str, hours: int) -> None:
    """The plan of ``level``: its steps, up to its milestone; steps done before (another level, a
    plan finished) stay done."""
    before = ctx.conversation.progress.get(skill["id"]) or {}
    kept = {key: before[key] for key in ("done", "skipped", "alt") if before.get(key)}
    progress = {"level": level, "hours": hours, "done": [], **kept, "started_at": ctx.now}
    progress["catalog"] = CATALOG_VERSION
    ctx.conversation.progress[skill["id"]] = progress
    left = catalog.steps_left(skill, level, progress)
    lead = ctx.t(
        "plan_ready",
        hours=hours,
        steps=catalog.how_many(ctx, left),
        duration=catalog.how_long(ctx, left, hours),
        skill_title=skill_title(ctx, skill),
        level=ctx.t(f"level_{level}"),
        milestone=catalog.milestone(ctx, skill, level),
    )
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


def change_level(ctx: Context) -> str | None:
    """ "change my level", "quiero cambiar de nivel": the other levels of the skill in question as
    buttons, the plan kept behind the last one. A level said with it is that level's change."""
    skill, progress = _skill_in_question(ctx)
    if skill is not None and progress is None and ctx.conversation.state == "choosing_hours":
        ctx.args["skill"] = skill["id"]  # "can I go back and change my level?": its question again
        return "pick_skill"
    if skill is None or progress is None or not _in_progress(progress):
        return "my_skills"
    if ctx.args.get("level") in LEVELS:
        return "choose_level"
    now = progress.get("level", LEVELS[0])
    others = [level for level in LEVELS if level != now]
    choices = [Button(ctx.t(f"level_{level}"), payload=f"SETLEVEL:{skill['id']}:{level}") for level in others]
    keep = Button(ctx.t("btn_keep_level", level=ctx.t(f"level_{now}")), payload=f"NEXT:{skill['id']}", means=("no",))
    text = ctx.t("which_level", skill_title=skill_title(ctx, skill), level=ctx.t(f"level_{now}"))
    ctx.say(Reply(text=text, quick_replies=[*choices, keep]))
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
    "choose_skill_saying_level": choose_skill_saying_level,
    "choose_level": choose_level,
    "choose_hours": choose_hours,
    "change_pace": change_pace,
    "set_level": set_level,
    "change_level": change_level,
    "drop_skill": drop_skill,
    "drop_confirmed": drop_confirmed,
    "undo_drop": undo_drop,
}
