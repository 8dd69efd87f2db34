"""The named actions of the mentor bot: the few things skills.json can't say as data.

An action gets a ``chat.Context``, may change the conversation, say replies
and pick the next state; it returns ``None`` to go on with the intent's own
replies, or the name of another intent to run instead.
"""

from __future__ import annotations

import math
import re

from chat import Button, Card, Context, Reply
from skills import LEVELS, assignment_subtitle

PAGE_SIZE_DEFAULT = 4
MAX_SUGGESTION = 200


def _skill_title(ctx: Context, skill: dict) -> str:
    return ctx.skills.localized(skill["title"], ctx.locale)


def _current_skill(ctx: Context) -> tuple[dict | None, dict | None]:
    """The skill named by the payload, else the one in the slot, else the latest one in progress."""
    progress = ctx.conversation.progress
    skill_id = ctx.args.get("skill") or ctx.conversation.slots.get("skill", "")
    if not skill_id and progress:
        unfinished = [k for k, v in progress.items() if not v.get("finished_at")] or list(progress)
        skill_id = max(unfinished, key=lambda k: progress[k].get("started_at", 0))
    skill = ctx.skills.skill(skill_id)
    return skill, (ctx.conversation.progress.get(skill_id) if skill else None)


def _plan(ctx: Context, skill: dict, progress: dict) -> list[dict]:
    return ctx.skills.plan(skill, progress.get("level", "beginner"))


def _percent(ctx: Context, skill: dict, progress: dict) -> tuple[int, int, int]:
    plan = _plan(ctx, skill, progress)
    done = sum(1 for a in plan if a["id"] in progress.get("done", []))
    return done, len(plan), round(100 * done / len(plan)) if plan else 100


def assignment_card(ctx: Context, skill: dict, item: dict) -> Card:
    table = ctx.skills.data["strings"][ctx.locale]
    return Card(
        title=item["title"],
        subtitle=assignment_subtitle(item, table),
        image_url=skill.get("image", ""),
        url=item["url"],
        buttons=[
            Button(title=ctx.t("btn_open"), url=item["url"]),
            Button(title=ctx.t("btn_done"), payload=f"DONE:{skill['id']}:{item['id']}"),
        ],
    )


def _next_item(ctx: Context, skill: dict, progress: dict) -> dict | None:
    return next((a for a in _plan(ctx, skill, progress) if a["id"] not in progress["done"]), None)


def _say_next(ctx: Context, skill: dict, progress: dict, lead: str) -> None:
    """The next assignment as a card, or congratulations when the plan is done."""
    item = _next_item(ctx, skill, progress)
    if item is None:
        progress.setdefault("finished_at", ctx.now)
        progress.pop("next", None)
        ctx.say(
            Reply(
                text=ctx.t("finished", skill_title=_skill_title(ctx, skill)),
                quick_replies=[
                    Button(ctx.t("btn_restart"), payload=f"RESTART:{skill['id']}"),
                    Button(ctx.t("btn_browse"), payload="BROWSE"),
                    Button(ctx.t("btn_suggest"), payload="SUGGEST"),
                ],
            )
        )
        return
    progress["next"] = item["id"]
    ctx.say(Reply(text=lead))
    ctx.say(Reply(cards=[assignment_card(ctx, skill, item)], quick_replies=ctx.menu("after_assignment")))


def show_catalog(ctx: Context) -> None:
    catalog = ctx.skills.catalog
    size = ctx.skills.data["bot"].get("catalog_page_size", PAGE_SIZE_DEFAULT)
    pages = max(1, math.ceil(len(catalog) / size))
    page = int(ctx.args["page"]) if str(ctx.args.get("page", "")).isdigit() else 1
    page = min(max(page, 1), pages)
    cards = []
    for skill in catalog[(page - 1) * size : page * size]:
        started = skill["id"] in ctx.conversation.progress
        cards.append(
            Card(
                title=_skill_title(ctx, skill),
                subtitle=ctx.skills.localized(skill["summary"], ctx.locale),
                image_url=skill.get("image", ""),
                buttons=[
                    Button(
                        title=ctx.t("btn_continue" if started else "btn_learn"),
                        payload=f"{'NEXT' if started else 'PICK'}:{skill['id']}",
                    )
                ],
            )
        )
    more = []
    if page < pages:
        more.append(Button(ctx.t("btn_more_skills"), payload=f"BROWSE:{page + 1}"))
    elif pages > 1:
        more.append(Button(ctx.t("btn_first_page"), payload="BROWSE:1"))
    lead = ctx.t("catalog_intro", page=page, pages=pages)
    ctx.say(Reply(text=lead))
    ctx.say(Reply(cards=cards, quick_replies=more + ctx.menu("catalog_menu")))


def _select(ctx: Context, skill: dict) -> None:
    """Make ``skill`` the one the next replies and steps are about."""
    ctx.conversation.slots["skill"] = skill["id"]
    ctx.conversation.slots["skill_title"] = _skill_title(ctx, skill)


def choose_skill(ctx: Context) -> str | None:
    skill, progress = _current_skill(ctx)
    if skill is None:
        return "unknown_skill"
    _select(ctx, skill)
    if progress and not progress.get("finished_at"):
        return "next_assignment"
    return None


def choose_level(ctx: Context) -> str | None:
    level = ctx.args.get("level", "")
    if level not in LEVELS or not ctx.conversation.slots.get("skill"):
        return "level_unclear" if ctx.conversation.slots.get("skill") else "unknown_skill"
    ctx.conversation.slots["level"] = level
    return None


def choose_hours(ctx: Context) -> str | None:
    digits = re.search(r"\d{1,3}", str(ctx.args.get("hours") or ctx.args.get("text") or ""))
    hours = int(digits.group()) if digits else 0
    if not 1 <= hours <= 80:
        return "hours_unclear"
    slots = ctx.conversation.slots
    skill = ctx.skills.skill(slots.get("skill", ""))
    if skill is None or slots.get("level") not in LEVELS:
        return "unknown_skill"
    progress = {"level": slots["level"], "hours": hours, "done": [], "started_at": ctx.now}
    ctx.conversation.progress[skill["id"]] = progress
    plan = _plan(ctx, skill, progress)
    minutes = sum(a["minutes"] for a in plan)
    weeks = max(1, math.ceil(minutes / (hours * 60)))
    duration = ctx.t("duration_one" if weeks == 1 else "duration_many", weeks=weeks)
    lead = ctx.t("plan_ready", hours=hours, count=len(plan), duration=duration, skill_title=_skill_title(ctx, skill))
    _say_next(ctx, skill, progress, lead)
    offer_reminders(ctx, skill, progress)
    return None


def next_assignment(ctx: Context) -> str | None:
    skill, progress = _current_skill(ctx)
    if skill is None:
        return "unknown_skill" if ctx.args.get("skill") else "no_skills_yet"
    if progress is None:
        ctx.conversation.slots["skill"] = skill["id"]
        return "pick_skill"
    done, total, percent = _percent(ctx, skill, progress)
    lead = ctx.t("next_up", skill_title=_skill_title(ctx, skill), done=done, total=total, percent=percent)
    _say_next(ctx, skill, progress, lead)
    return None


def mark_done(ctx: Context) -> str | None:
    skill, progress = _current_skill(ctx)
    if skill is None or progress is None:
        return "unknown_skill" if ctx.args.get("skill") else "no_skills_yet"
    # Typed "done" without a button means the assignment we handed out last.
    item_id = ctx.args.get("item") or progress.get("next", "")
    if item_id not in {a["id"] for a in skill["assignments"]}:
        return "unknown_skill"
    if item_id in progress["done"]:
        # An old button pressed again: say where they are instead of counting twice.
        ctx.say(Reply(text=ctx.t("already_done")))
        return "next_assignment"
    progress["done"].append(item_id)
    progress["last_done_at"] = ctx.now
    done, total, percent = _percent(ctx, skill, progress)
    lead = ctx.t("marked_done", done=done, total=total, percent=percent)
    _say_next(ctx, skill, progress, lead)
    return None


def show_progress(ctx: Context) -> str | None:
    progress = ctx.conversation.progress
    if not progress:
        return "no_skills_yet"
    cards = []
    for skill_id, entry in progress.items():
        skill = ctx.skills.skill(skill_id)
        if skill is None:
            continue
        done, total, percent = _percent(ctx, skill, entry)
        buttons = [Button(ctx.t("btn_next"), payload=f"NEXT:{skill_id}")]
        if entry.get("finished_at"):
            buttons = [Button(ctx.t("btn_restart"), payload=f"RESTART:{skill_id}")]
        buttons.append(Button(ctx.t("btn_drop"), payload=f"DROP:{skill_id}"))
        level = ctx.t(f"level_{entry.get('level', 'beginner')}")
        cards.append(
            Card(
                title=f"{_skill_title(ctx, skill)} · {percent}%",
                subtitle=ctx.t("progress_line", done=done, total=total, level=level, hours=entry.get("hours", 0)),
                image_url=skill.get("image", ""),
                buttons=buttons,
            )
        )
    if not cards:
        return "no_skills_yet"
    ctx.say(Reply(text=ctx.t("my_skills_intro")))
    ctx.say(Reply(cards=cards, quick_replies=ctx.menu("main_menu")))
    return None


def drop_skill(ctx: Context) -> str | None:
    skill, progress = _current_skill(ctx)
    if skill is None or progress is None:
        return "unknown_skill"
    del ctx.conversation.progress[skill["id"]]
    ctx.conversation.slots["skill_title"] = _skill_title(ctx, skill)
    return None


def restart_skill(ctx: Context) -> str | None:
    skill, progress = _current_skill(ctx)
    if skill is None:
        return "unknown_skill"
    _select(ctx, skill)
    if progress is None:
        return "pick_skill"
    progress.update(done=[], started_at=ctx.now)
    progress.pop("finished_at", None)
    _say_next(ctx, skill, progress, ctx.t("restarted", skill_title=_skill_title(ctx, skill)))
    return None


def save_suggestion(ctx: Context) -> str | None:
    text = " ".join(str(ctx.args.get("text", "")).split())[:MAX_SUGGESTION]
    if len(text) < 2:
        return "suggest"
    ctx.conversation.slots["suggestion"] = text
    # The store files pending suggestions in their own collection in the same transaction.
    ctx.conversation.suggestions.append({"text": text, "at": ctx.now, "locale": ctx.locale})
    return None


def set_language(ctx: Context) -> str | None:
    wanted = ctx.args.get("lang", "")
    if wanted not in ctx.skills.locales:
        return "choose_language"
    ctx.conversation.profile["language"] = wanted
    ctx.locale = wanted
    return None


ACTIONS = {
    "show_catalog": show_catalog,
    "choose_skill": choose_skill,
    "choose_level": choose_level,
    "choose_hours": choose_hours,
    "next_assignment": next_assignment,
    "mark_done": mark_done,
    "show_progress": show_progress,
    "drop_skill": drop_skill,
    "restart_skill": restart_skill,
    "save_suggestion": save_suggestion,
    "set_language": set_language,
}


# ---------------------------------------------------------------- reminders


def _every(ctx: Context, days: int) -> str:
    return ctx.t("every_day") if days == 1 else ctx.t("every_days", days=days)


def _schedule(ctx: Context, days: int) -> None:
    from reminders import next_due

    reminder = ctx.conversation.reminder
    reminder.update(enabled=True, pending=False, every_days=days)
    reminder["due_at"] = next_due(ctx.now, days, ctx.conversation.profile.get("timezone"), ctx.now)


def offer_reminders(ctx: Context, skill: dict, progress: dict) -> None:
    """Right after a plan starts: propose reminders at the pace the user chose."""
    from reminders import cadence_days

    item = _next_item(ctx, skill, progress)
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
        skill, progress = _current_skill(ctx)
        if skill is None or progress is None:
            return "no_skills_yet"
        reminder["skill"] = skill["id"]
    days = int(ctx.args["days"]) if str(ctx.args.get("days", "")).isdigit() else reminder.get("every_days", 2)
    days = max(1, min(14, days))
    _schedule(ctx, days)
    ctx.say(Reply(text=ctx.t("remind_on", every=_every(ctx, days)), quick_replies=ctx.menu("reminder_cadence")))
    return None


def reminders_off(ctx: Context) -> str | None:
    ctx.conversation.reminder.update(enabled=False, pending=False)
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
    reminder = ctx.conversation.reminder
    if not reminder.get("enabled"):
        return "reminders"
    days = int(ctx.args["days"]) if str(ctx.args.get("days", "")).isdigit() else 1
    reminder["due_at"] = ctx.now + max(1, min(7, days)) * 86400
    ctx.say(Reply(text=ctx.t("snoozed"), quick_replies=ctx.menu("main_menu")))
    return None


def reminder_card(ctx: Context) -> Reply | None:
    """The reminder itself: one card (one message, for Telegram's one-per-second-per-chat rule)."""
    reminder = ctx.conversation.reminder
    skill = ctx.skills.skill(reminder.get("skill", ""))
    progress = ctx.conversation.progress.get(reminder.get("skill", ""))
    item = _next_item(ctx, skill, progress) if skill and progress else None
    if item is None:
        reminder["enabled"] = False  # nothing left to remind about: the plan is done or dropped
        return None
    done, total, _ = _percent(ctx, skill, progress)
    from chat import shorten

    card = Card(
        title=shorten(ctx.t("reminder_title", title=item["title"]), 80),
        subtitle=shorten(ctx.t("reminder_subtitle", skill_title=_skill_title(ctx, skill), done=done, total=total), 80),
        image_url=skill.get("image", ""),
        url=item["url"],
        buttons=[
            Button(title=ctx.t("btn_open"), url=item["url"]),
            Button(title=ctx.t("btn_done"), payload=f"DONE:{skill['id']}:{item['id']}"),
            Button(title=ctx.t("btn_snooze"), payload="SNOOZE:1"),
        ],
    )
    progress["next"] = item["id"]
    return Reply(cards=[card])


MESSENGER_WINDOW = 24 * 3600  # standard messaging: the bot may write within 24 h of the user's last message


def send_reminder(ctx: Context) -> str | None:
    """Run by a reminder (an update from the bot). Says nothing when it may not or need not."""
    conv = ctx.conversation
    if not conv.reminder.get("enabled") or not conv.active:
        return None
    if conv.channel == "messenger" and ctx.now - conv.last_message_at > MESSENGER_WINDOW:
        conv.reminder["pending"] = True  # no message tags for this: wait until they write again
        return None
    card = reminder_card(ctx)
    if card is not None:
        ctx.say(card)
    return None


def pending_reminder(ctx: Context) -> str | None:
    """The user is back after the window closed: show the reminder they missed, then carry on."""
    conv = ctx.conversation
    conv.reminder["pending"] = False
    card = reminder_card(ctx)
    if card is None:
        return None
    ctx.say(Reply(text=ctx.t("while_away")))
    ctx.say(card)
    _schedule(ctx, conv.reminder.get("every_days", 2))
    return None


ACTIONS.update(
    reminders_on=reminders_on,
    reminders_off=reminders_off,
    reminders_status=reminders_status,
    snooze=snooze,
    send_reminder=send_reminder,
    pending_reminder=pending_reminder,
)
