"""The named actions of the mentor bot: the few things skills.json can't say as data.

An action gets a ``Context`` (chatbot/engine/context.py), may change the conversation, say replies
and pick the next state; it returns ``None`` to go on with the intent's own
replies, or the name of another intent to run instead.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable

from chatbot.core.text import plain_text, shorten
from chatbot.engine.context import Context
from chatbot.engine.types import Button, Card, Reply
from chatbot.engine.understand import fold, trim
from mentor import catalog, people, plan, reminders, steps, upgrade
from mentor.catalog import current_skill, resource, skill_title
from mentor.steps import say_next

PAGE_SIZE_DEFAULT = 4
MAX_SUGGESTION = 200
MAX_TOPIC = 60


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
        more.append(Button(ctx.t("btn_more_skills"), payload=f"BROWSE:{page + 1}", means=("more",)))
    elif pages > 1:
        more.append(Button(ctx.t("btn_first_page"), payload="BROWSE:1"))
    lead = ctx.t("catalog_intro", page=page, pages=pages)
    ctx.say(Reply(text=lead))
    ctx.say(Reply(cards=cards, quick_replies=more + ctx.menu("catalog_menu")))
    ctx.conversation.slots.update(screen="catalog", page=str(page))
    ctx.conversation.slots.pop("shown", None)  # a list on screen now: "done" would have to ask which


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


def next_assignment(ctx: Context) -> str | None:
    skill, progress = current_skill(ctx)
    if skill is None:
        return "unknown_skill" if ctx.args.get("skill") else "no_skills_yet"
    if progress is None:
        ctx.conversation.slots["skill"] = skill["id"]
        return "pick_skill"
    done, total, percent = catalog.percent(ctx, skill, progress)
    lead = ctx.t("next_up", skill_title=skill_title(ctx, skill), done=done, total=total, percent=percent)
    say_next(ctx, skill, progress, lead)
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
            higher = catalog.level_after(skill, entry)
            up = f"SETLEVEL:{skill_id}:{higher}"
            buttons = [Button(ctx.t("btn_level_up", level=ctx.t(f"level_{higher}")), payload=up)] if higher else []
            buttons.append(Button(ctx.t("btn_restart"), payload=f"RESTART:{skill_id}"))
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
    ctx.conversation.slots["screen"] = "progress"
    ctx.conversation.slots.pop("shown", None)
    return None


def restart_skill(ctx: Context) -> str | None:
    skill, progress = current_skill(ctx)
    if skill is None:
        return "unknown_skill"
    _select(ctx, skill)
    if progress is None:
        return "pick_skill"
    # The level's plan from the top: its steps are to do again; other levels' stay as they are.
    again = {a["id"] for a in catalog.level_plan(ctx, skill, progress)}
    for key in ("done", "skipped"):
        progress[key] = [i for i in progress.get(key, []) if i not in again]
    if not progress["skipped"]:
        progress.pop("skipped")
    progress["started_at"] = ctx.now
    progress.pop("finished_at", None)
    say_next(ctx, skill, progress, ctx.t("restarted", skill_title=skill_title(ctx, skill)))
    return None


def save_suggestion(ctx: Context) -> str | None:
    text = str(ctx.args.get("text", ""))
    said = ctx.skills.match_text("", ctx.locale, text)
    if said and ctx.skills.intents[said[0]].get("action") == "save_suggestion" and said[1].get("text"):
        text = said[1]["text"]  # "suggest kubernetes" typed at the prompt: the suggestion is "kubernetes"
    text = plain_text(text)[:MAX_SUGGESTION]
    if len(text) < 2:
        return "suggest"
    known = ctx.skills.entities["skill"].get(trim(text))
    found = ctx.skills.skill(known) if known else None
    if known and found:
        ctx.args["skill"] = known  # already in the catalog: straight to it
        ctx.say(Reply(text=ctx.t("already_have", skill_title=skill_title(ctx, found))))
        return "pick_skill"
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


def suggest_topic(ctx: Context) -> str | None:
    """ "learn kubernetes", and kubernetes is not in the catalog: offer to pass it on."""
    topic = plain_text(str(ctx.args.get("topic") or ""))[:MAX_TOPIC]
    if len(topic) < 2:
        return "browse"
    ctx.conversation.slots["topic"] = topic
    ctx.say(Reply(text=ctx.t("not_in_catalog", topic=topic), quick_replies=ctx.menu("topic_offer")))
    return None


def save_topic(ctx: Context) -> str | None:
    topic = ctx.conversation.slots.pop("topic", "")
    if not topic:
        return "suggest"
    ctx.args["text"] = topic
    return "save_suggestion"


def welcome(ctx: Context) -> str | None:
    """A returning learner hears where they stand and their next step; a newcomer, the introduction."""
    if ctx.conversation.held:
        return "hello_again"  # the reminder held for them follows, and says where they are
    skill, progress = current_skill(ctx)
    if skill is None or progress is None or progress.get("finished_at"):
        return None
    item = catalog.next_item(ctx, skill, progress)
    if item is None:
        return None
    done, total, _ = catalog.percent(ctx, skill, progress)
    ctx.args.update(
        skill=skill["id"],
        skill_title=skill_title(ctx, skill),
        done=done,
        total=total,
        title=resource(item, progress, ctx.locale)["title"],
    )
    return "welcome_back"


def news_off(ctx: Context) -> str | None:
    ctx.conversation.news["off"] = True
    return None


def news_on(ctx: Context) -> str | None:
    ctx.conversation.news.pop("off", None)
    return None


def notify_when_added(ctx: Context) -> str | None:
    """Yes to "shall I tell you when it is added?": the suggestion's words are kept, for the audience
    `flask broadcast --to suggested:WORD` chooses from."""
    suggestion = ctx.conversation.slots.get("suggestion", "")
    words = [w for w in re.findall(r"[a-z0-9+#]+", fold(suggestion)) if len(w) > 1][:8]
    if not words:
        return "notify_no"
    ctx.conversation.news["suggested"] = list(dict.fromkeys([*ctx.conversation.news.get("suggested", []), *words]))[
        -20:
    ]
    return None


def announce_skill(ctx: Context) -> str | None:
    """ANNOUNCE_ADDED:{skill}: a skill someone asked for is in the catalog; say which, offer to start it."""
    skill = ctx.skills.skill(str(ctx.args.get("skill", "")))
    if skill is None:
        return None
    title = skill_title(ctx, skill)
    start = Button(ctx.t("btn_learn"), payload=f"PICK:{skill['id']}", means=("yes",))
    ctx.say(
        Reply(text=ctx.t("announce_skill_added", skill_title=title), quick_replies=[start, *ctx.menu("browse_only")])
    )
    return None


def forget_me(ctx: Context) -> str | None:
    """FORGET_YES, as the answer to this person's own question (its button on their screen, or a "yes"
    typed to it): the confirmation is said, and the relay keeps nothing of this person after it. Asked
    of nobody (another member's button in a group, an old button, a forged press) it does nothing."""
    if not any(choice.get("payload") == "FORGET_YES" for choice in ctx.conversation.choices):
        ctx.set_state(ctx.conversation.state)  # whatever they were doing, they still are
        return None
    ctx.erase = True
    ctx.say(Reply(text=ctx.t("forgotten")))
    return None


def fallback(ctx: Context) -> str | None:
    """Not understood. The first miss says what fits the step on screen; the next offers the menu;
    then examples of what to type; never the same words twice in a row."""
    slots = ctx.conversation.slots
    misses = int(slots.get("misses", 1))
    screen = slots.get("screen", "")
    on_card = steps.target(ctx) if misses == 1 and screen == "card" else None
    if on_card:
        skill, progress, item_id = on_card
        item = next(a for a in skill["assignments"] if a["id"] == item_id)
        text = ctx.t("fallback_card", title=resource(item, progress, ctx.locale)["title"])
        ctx.say(Reply(text=text, quick_replies=ctx.menu("card_help")))
    elif misses == 1 and screen == "catalog":
        names = ", ".join(skill_title(ctx, s) for s in ctx.skills.catalog)
        picks = [Button(shorten(skill_title(ctx, s), 20), payload=f"PICK:{s['id']}") for s in ctx.skills.catalog]
        ctx.say(Reply(text=ctx.t("fallback_catalog", names=names), quick_replies=picks[:11]))
    elif misses % 2 == 0:
        # Missed twice in a row: a person may help where the bot cannot (when someone can take over).
        ctx.say(Reply(text=ctx.t("fallback_menu"), quick_replies=ctx.menu("main_menu") + people.offer_person(ctx)))
    else:
        ctx.say(
            Reply(text=ctx.t("fallback" if misses == 1 else "fallback_examples"), quick_replies=ctx.menu("main_menu"))
        )
    return None


def _on_this_catalog(act: Callable[[Context], str | None]) -> Callable[[Context], str | None]:
    """Progress stored under an older catalog is brought up to this one before the action reads it."""

    @functools.wraps(act)
    def action(ctx: Context) -> str | None:
        return upgrade.bring_up_to_date(ctx) or act(ctx)

    return action


# Actions that neither read nor show a plan: they run as they are (refit_reminder runs after every
# message, with replies nobody sees).
NO_PLAN = {"refit_reminder", "forget_me", "news_off", "news_on", "notify_when_added", "set_language"}
NO_PLAN |= {"save_suggestion", "suggest_topic", "save_topic", "back_to_bot"}

ACTIONS = {
    "forget_me": forget_me,
    "news_off": news_off,
    "news_on": news_on,
    "notify_when_added": notify_when_added,
    "announce_skill": announce_skill,
    "show_catalog": show_catalog,
    "choose_skill": choose_skill,
    "next_assignment": next_assignment,
    "show_progress": show_progress,
    "restart_skill": restart_skill,
    "save_suggestion": save_suggestion,
    "suggest_topic": suggest_topic,
    "save_topic": save_topic,
    "set_language": set_language,
    "welcome": welcome,
    "fallback": fallback,
    **people.ACTIONS,
    **plan.ACTIONS,
    **steps.ACTIONS,
    **reminders.ACTIONS,
}
ACTIONS = {name: act if name in NO_PLAN else _on_this_catalog(act) for name, act in ACTIONS.items()}
CHECKS = (catalog.validate,)  # the mentor's own rules for skills.json, run by `skills check` and at start
