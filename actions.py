"""The named actions of the mentor bot: the few things skills.json can't say as data.

An action gets a ``chat.Context``, may change the conversation, say replies
and pick the next state; it returns ``None`` to go on with the intent's own
replies, or the name of another intent to run instead.
"""

from __future__ import annotations

import math
import re

import catalog
import reminders
from catalog import LEVELS, assignment_subtitle, current_skill, next_item, skill_title
from chat import Button, Card, Context, Reply
from texts import plain_text

PAGE_SIZE_DEFAULT = 4
MAX_SUGGESTION = 200


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


def _say_next(ctx: Context, skill: dict, progress: dict, lead: str) -> None:
    """The next assignment as a card, or congratulations when the plan is done."""
    item = next_item(ctx, skill, progress)
    if item is None:
        progress.setdefault("finished_at", ctx.now)
        progress.pop("next", None)
        ctx.say(
            Reply(
                text=ctx.t("finished", skill_title=skill_title(ctx, skill)),
                quick_replies=[
                    Button(ctx.t("btn_restart"), payload=f"RESTART:{skill['id']}"),
                    Button(ctx.t("btn_browse"), payload="BROWSE"),
                    Button(ctx.t("btn_suggest"), payload="SUGGEST"),
                ],
            )
        )
        return
    catalog.offer(progress, item)
    ctx.say(Reply(text=lead))
    ctx.say(Reply(cards=[assignment_card(ctx, skill, item)], quick_replies=ctx.menu("after_assignment")))


def show_catalog(ctx: Context) -> None:
    catalog = ctx.skills.catalog
    size = ctx.skills.data["bot"].get("catalog_page_size", PAGE_SIZE_DEFAULT)
    pages = max(1, math.ceil(len(catalog) / size))
    wanted = str(ctx.args.get("page", ""))
    page = int(wanted) if wanted.isascii() and wanted.isdigit() else 1
    page = min(max(page, 1), pages)
    cards = []
    for skill in catalog[(page - 1) * size : page * size]:
        started = skill["id"] in ctx.conversation.progress
        cards.append(
            Card(
                title=skill_title(ctx, skill),
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
    ctx.conversation.slots["skill_title"] = skill_title(ctx, skill)


def choose_skill(ctx: Context) -> str | None:
    skill, progress = current_skill(ctx)
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
    plan = catalog.level_plan(ctx, skill, progress)
    minutes = sum(a["minutes"] for a in plan)
    weeks = max(1, math.ceil(minutes / (hours * 60)))
    duration = ctx.t("duration_one" if weeks == 1 else "duration_many", weeks=weeks)
    lead = ctx.t("plan_ready", hours=hours, count=len(plan), duration=duration, skill_title=skill_title(ctx, skill))
    _say_next(ctx, skill, progress, lead)
    reminders.offer_reminders(ctx, skill, progress)
    return None


def next_assignment(ctx: Context) -> str | None:
    skill, progress = current_skill(ctx)
    if skill is None:
        return "unknown_skill" if ctx.args.get("skill") else "no_skills_yet"
    if progress is None:
        ctx.conversation.slots["skill"] = skill["id"]
        return "pick_skill"
    done, total, percent = catalog.percent(ctx, skill, progress)
    lead = ctx.t("next_up", skill_title=skill_title(ctx, skill), done=done, total=total, percent=percent)
    _say_next(ctx, skill, progress, lead)
    return None


def mark_done(ctx: Context) -> str | None:
    skill, progress = current_skill(ctx)
    if skill is None or progress is None:
        return "unknown_skill" if ctx.args.get("skill") else "no_skills_yet"
    # Typed "done" without a button means the assignment we handed out last.
    item_id = ctx.args.get("item") or progress.get("next", "")
    if item_id not in {a["id"] for a in skill["assignments"]}:
        return "unknown_skill"
    if item_id not in progress["done"] and not catalog.was_offered(progress, item_id):
        # A payload for an assignment never shown to this person (a forged or mangled button).
        ctx.say(Reply(text=ctx.t("not_offered")))
        return "next_assignment"
    if item_id in progress["done"]:
        # An old button pressed again: say where they are instead of counting twice.
        ctx.say(Reply(text=ctx.t("already_done")))
        return "next_assignment"
    progress["done"].append(item_id)
    progress["last_done_at"] = ctx.now
    done, total, percent = catalog.percent(ctx, skill, progress)
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
        done, total, percent = catalog.percent(ctx, skill, entry)
        buttons = [Button(ctx.t("btn_next"), payload=f"NEXT:{skill_id}")]
        if entry.get("finished_at"):
            buttons = [Button(ctx.t("btn_restart"), payload=f"RESTART:{skill_id}")]
        buttons.append(Button(ctx.t("btn_drop"), payload=f"DROP:{skill_id}"))
        level = ctx.t(f"level_{entry.get('level', 'beginner')}")
        cards.append(
            Card(
                title=f"{skill_title(ctx, skill)} · {percent}%",
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
    skill, progress = current_skill(ctx)
    if skill is None or progress is None:
        return "unknown_skill"
    del ctx.conversation.progress[skill["id"]]
    ctx.conversation.slots["skill_title"] = skill_title(ctx, skill)
    return None


def restart_skill(ctx: Context) -> str | None:
    skill, progress = current_skill(ctx)
    if skill is None:
        return "unknown_skill"
    _select(ctx, skill)
    if progress is None:
        return "pick_skill"
    progress.update(done=[], started_at=ctx.now)
    progress.pop("finished_at", None)
    _say_next(ctx, skill, progress, ctx.t("restarted", skill_title=skill_title(ctx, skill)))
    return None


def save_suggestion(ctx: Context) -> str | None:
    text = plain_text(str(ctx.args.get("text", "")))[:MAX_SUGGESTION]
    if len(text) < 2:
        return "suggest"
    ctx.conversation.slots["suggestion"] = text
    # Filed in the suggestions queue, written with this step.
    ctx.file("suggestions", {"text": text, "locale": ctx.locale, "created_at": ctx.now})
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
    **reminders.ACTIONS,
}
CHECKS = (catalog.validate,)  # the mentor's own rules for skills.json, run by `skills check` and at start
