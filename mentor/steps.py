"""One step of a plan: the card that hands it out, and what the learner says about it.

Done, skip, too hard, too easy, a broken link, how long: each applies to the
step on the card the person saw last (``slots["shown"]``), names it in the
reply, and asks which one when more than one skill could be meant.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from chatbot.core.text import shorten
from chatbot.engine.context import Context
from chatbot.engine.types import Button, Card, Reply
from mentor import catalog
from mentor.catalog import LEVELS, assignment_subtitle, next_item, resource, skill_title


def assignment_card(ctx: Context, skill: dict, item: dict, progress: dict | None = None) -> Card:
    shown = resource(item, progress, ctx.locale)
    table = ctx.skills.data["strings"][ctx.locale]
    return Card(
        title=shown["title"],
        subtitle=assignment_subtitle(shown, table, ctx.locale),
        image_url=skill.get("image", ""),
        url=shown["url"],
        buttons=[
            Button(title=ctx.t("btn_open"), url=shown["url"]),
            Button(title=ctx.t("btn_done"), payload=f"DONE:{skill['id']}:{item['id']}", means=("done",)),
        ],
    )


def card_replies(ctx: Context, skill: dict, item: dict, progress: dict, quick_replies: list[Button]) -> list[Reply]:
    """A step's card; for a reader the resource's language is not theirs, its note right under it
    (too long for the card's subtitle), carrying the quick replies."""
    card = assignment_card(ctx, skill, item, progress)
    said = catalog.note(resource(item, progress, ctx.locale), ctx.locale)
    if said:
        return [Reply(cards=[card]), Reply(text=said, quick_replies=quick_replies)]
    return [Reply(cards=[card], quick_replies=quick_replies)]


def say_next(ctx: Context, skill: dict, progress: dict, lead: str) -> None:
    """The next step of the level's plan as a card; when none is left, the milestone it reached."""
    item = next_item(ctx, skill, progress)
    if item is None:
        progress.setdefault("finished_at", ctx.now)
        progress.pop("next", None)
        ctx.conversation.slots.pop("shown", None)
        higher = catalog.level_after(skill, progress)
        if higher:
            say_milestone(ctx, skill, progress, higher)
        else:
            say_finished(ctx, skill)
        return
    before = str(ctx.conversation.slots.get("shown", ""))
    catalog.show(ctx, skill, progress, item)
    note_shown(ctx, before)
    ctx.say(Reply(text=lead))
    for reply in card_replies(ctx, skill, item, progress, ctx.menu("after_assignment")):
        ctx.say(reply)


def say_milestone(ctx: Context, skill: dict, progress: dict, higher: str) -> None:
    """The level's plan is done: what the learner can do now, and the next level's plan, offered."""
    level = progress.get("level", LEVELS[0])
    left = catalog.steps_left(skill, higher, progress)
    hours = int(progress.get("hours", 1))
    text = ctx.t(
        "milestone_reached",
        skill_title=skill_title(ctx, skill),
        level=ctx.t(f"level_{level}"),
        milestone=catalog.milestone(ctx, skill, level),
        next_level=ctx.t(f"level_{higher}"),
        steps=catalog.how_many(ctx, left),
        duration=catalog.how_long(ctx, left, hours),
        hours=hours,
    )
    go_on = Button(
        ctx.t("btn_level_up", level=ctx.t(f"level_{higher}")),
        payload=f"SETLEVEL:{skill['id']}:{higher}",
        means=("yes",),
    )
    restart = Button(ctx.t("btn_restart"), payload=f"RESTART:{skill['id']}", means=("again",))
    ctx.say(Reply(text=text, quick_replies=[go_on, restart, Button(ctx.t("btn_browse"), payload="BROWSE")]))


def say_finished(ctx: Context, skill: dict) -> None:
    """The last milestone: congratulations, and the skills people learn next."""
    following = [ctx.skills.skill(s) for s in skill.get("next", [])]
    names = ", ".join(skill_title(ctx, s) for s in following if s)
    picks = [Button(shorten(skill_title(ctx, s), 20), payload=f"PICK:{s['id']}") for s in following[:3] if s]
    top = catalog.milestone(ctx, skill, LEVELS[-1])
    text = ctx.t("finished", skill_title=skill_title(ctx, skill), next_skills=names, milestone=top)
    restart = Button(ctx.t("btn_restart"), payload=f"RESTART:{skill['id']}", means=("again",))
    ctx.say(Reply(text=text, quick_replies=[*picks, restart, Button(ctx.t("btn_browse"), payload="BROWSE")]))


SENT_AT_TRUSTED = 600.0  # seconds: how far back a message's own time stamp is believed


def note_shown(ctx: Context, before: str) -> None:
    """When the card on screen changed, and which it replaced: a typed "done" sent before the new
    card was there is about the one before (two "done"s at once tick off one step)."""
    slots = ctx.conversation.slots
    if slots.get("shown") != before:
        slots["shown_at"] = ctx.now
        slots["shown_before"] = before


def seen(ctx: Context) -> str:
    """The card the person had on screen when they wrote: the last one shown, unless their message
    was sent before it appeared (the platform's own time of the message says)."""
    slots = ctx.conversation.slots
    sent, shown_at = ctx.update.timestamp, float(slots.get("shown_at") or 0)
    # The platform's clock, not ours: trusted only when it agrees with ours to within minutes (a
    # message kept back longer, or a clock far off, is read as about the card on screen now).
    plausible = ctx.now - SENT_AT_TRUSTED <= sent <= ctx.now + 60
    if sent and plausible and shown_at and sent < shown_at and slots.get("shown_before"):
        return str(slots["shown_before"])
    return str(slots.get("shown", ""))


def target(ctx: Context) -> tuple[dict, dict, str] | None:
    """The step a "done" or "skip" is about: the button's, else the card seen when the message was
    sent, else the one step handed out when only one skill is under way; None when it could be
    more than one."""
    progress = ctx.conversation.progress
    skill_id, item_id = ctx.args.get("skill", ""), ctx.args.get("item", "")
    if not skill_id:
        on_screen = seen(ctx)
        shown_skill, _, shown_item = on_screen.partition(":")
        earlier = on_screen != ctx.conversation.slots.get("shown")
        said_already = earlier and shown_skill in progress and shown_item in catalog.passed(progress[shown_skill])
        skill = ctx.skills.skill(shown_skill) if said_already else None
        if skill is not None:
            return skill, progress[shown_skill], shown_item  # about a step behind them: said already
        if shown_skill in progress and shown_item not in catalog.passed(progress[shown_skill]):
            skill_id, item_id = shown_skill, shown_item
    if not skill_id:
        open_ = [k for k, v in progress.items() if v.get("next") and not v.get("finished_at")]
        if len(open_) != 1:
            return None
        skill_id = open_[0]
    skill = ctx.skills.skill(skill_id)
    if skill is None or skill_id not in progress:
        return None
    return skill, progress[skill_id], item_id or progress[skill_id].get("next", "")


def ask_which(ctx: Context, verb: str) -> str | None:
    """More than one skill under way and nothing on screen says which: one button per skill."""
    buttons = []
    for skill_id, entry in ctx.conversation.progress.items():
        skill = ctx.skills.skill(skill_id)
        if skill and entry.get("next") and not entry.get("finished_at"):
            buttons.append(Button(shorten(skill_title(ctx, skill), 20), payload=f"{verb}:{skill_id}:{entry['next']}"))
    if not buttons:
        return "no_skills_yet"
    ctx.say(Reply(text=ctx.t("which_one"), quick_replies=buttons[:11]))
    return None


def _resolve(ctx: Context, verb: str) -> tuple[dict, dict, dict] | str | None:
    """The skill, its progress and the step; or what to do instead (an intent name, or None once
    the question "which one?" is asked)."""
    found = target(ctx)
    if found is None:
        if ctx.args.get("skill"):
            return "unknown_skill"
        return ask_which(ctx, verb) if ctx.conversation.progress else "no_skills_yet"
    skill, progress, item_id = found
    item = next((a for a in skill["assignments"] if a["id"] == item_id), None)
    if item is None:
        return "unknown_skill"
    if item_id not in catalog.passed(progress) and not catalog.was_offered(progress, item_id):
        ctx.say(Reply(text=ctx.t("not_offered")))  # a forged or mangled button: never shown to them
        ctx.args["skill"] = skill["id"]
        return "next_assignment"
    if item_id in catalog.passed(progress):
        ctx.say(Reply(text=ctx.t("already_done", title=resource(item, progress, ctx.locale)["title"])))
        ctx.args["skill"] = skill["id"]
        return "next_assignment"
    return skill, progress, item


def on_step(verb: str) -> Callable:
    """An action about one step: it runs with the step resolved (the button's, the card seen last,
    or the only one under way); otherwise the question "which one?" or the way forward stands."""

    def wrap(act: Callable[[Context, dict, dict, dict], str | None]) -> Callable[[Context], str | None]:
        @functools.wraps(act)
        def action(ctx: Context) -> str | None:
            found = _resolve(ctx, verb)
            return act(ctx, *found) if isinstance(found, tuple) else found

        return action

    return wrap


def _progress_line(ctx: Context, skill: dict, progress: dict, item: dict, key: str) -> str:
    done, total, percent = catalog.percent(ctx, skill, progress)
    title = resource(item, progress, ctx.locale)["title"]
    return ctx.t(key, title=title, skill_title=skill_title(ctx, skill), done=done, total=total, percent=percent)


@on_step("DONE")
def mark_done(ctx: Context, skill: dict, progress: dict, item: dict) -> str | None:
    progress["done"].append(item["id"])
    progress["last_done_at"] = ctx.now
    say_next(ctx, skill, progress, _progress_line(ctx, skill, progress, item, "marked_done"))
    return None


def _pass(ctx: Context, skill: dict, progress: dict, item: dict, key: str) -> None:
    progress.setdefault("skipped", []).append(item["id"])
    say_next(ctx, skill, progress, _progress_line(ctx, skill, progress, item, key))


def _alternative(ctx: Context, skill: dict, progress: dict, item: dict, key: str) -> None:
    """The same step through its other resource (easier, or in another format)."""
    title = resource(item, progress, ctx.locale)["title"]
    progress.setdefault("alt", []).append(item["id"])
    before = str(ctx.conversation.slots.get("shown", ""))
    catalog.show(ctx, skill, progress, item)
    note_shown(ctx, before)
    ctx.say(Reply(text=ctx.t(key, title=title)))
    for reply in card_replies(ctx, skill, item, progress, ctx.menu("after_alternative")):
        ctx.say(reply)


@on_step("SKIP")
def skip_step(ctx: Context, skill: dict, progress: dict, item: dict) -> str | None:
    """First "skip": another resource for the same step; "skip" again: the step is passed."""
    if catalog.on_alternative(progress, item["id"]):
        _pass(ctx, skill, progress, item, "skipped")
    else:
        _alternative(ctx, skill, progress, item, "skip_offer")
    return None


@on_step("HARD")
def too_hard(ctx: Context, skill: dict, progress: dict, item: dict) -> str | None:
    if not catalog.on_alternative(progress, item["id"]):
        _alternative(ctx, skill, progress, item, "easier_offer")
        return None
    buttons = [Button(ctx.t("btn_skip_step"), payload=f"SKIP:{skill['id']}:{item['id']}")]
    if progress.get("level") != "beginner":
        buttons.append(Button(ctx.t("btn_level_down"), payload=f"SETLEVEL:{skill['id']}:beginner"))
    ctx.say(
        Reply(
            text=ctx.t("still_hard", title=resource(item, progress, ctx.locale)["title"]),
            quick_replies=[*buttons, *ctx.menu("after_assignment")[2:]],
        )
    )
    return None


@on_step("EASY")
def too_easy(ctx: Context, skill: dict, progress: dict, item: dict) -> str | None:
    _pass(ctx, skill, progress, item, "skipped_easy")
    level = progress.get("level", "beginner")
    if level != LEVELS[-1] and len(progress.get("skipped", [])) >= 2:
        higher = LEVELS[LEVELS.index(level) + 1]
        button = Button(
            ctx.t("btn_level_up", level=ctx.t(f"level_{higher}")), payload=f"SETLEVEL:{skill['id']}:{higher}"
        )
        ctx.say(Reply(text=ctx.t("maybe_level_up"), quick_replies=[button]))
    return None


@on_step("BROKEN")
def broken_link(ctx: Context, skill: dict, progress: dict, item: dict) -> str | None:
    """Passed on to the owner (the reports queue) and, meanwhile, the step's other resource."""
    shown = resource(item, progress, ctx.locale)
    ctx.file("reports", {"skill": skill["id"], "item": item["id"], "url": shown["url"], "created_at": ctx.now})
    if catalog.on_alternative(progress, item["id"]):
        ctx.say(Reply(text=ctx.t("broken_noted_skip", title=shown["title"])))
        _pass(ctx, skill, progress, item, "skipped")
    else:
        _alternative(ctx, skill, progress, item, "broken_noted")
    return None


def how_long(ctx: Context) -> str | None:
    found = target(ctx)
    if found is None:
        return ask_which(ctx, "NEXT") if ctx.conversation.progress else "no_skills_yet"
    skill, progress, item_id = found
    item = next((a for a in skill["assignments"] if a["id"] == item_id), None)
    if item is None:
        return "next_assignment"
    shown = resource(item, progress, ctx.locale)
    hours = max(1, int(progress.get("hours", 1)))
    days = max(1, round(shown["minutes"] / (hours * 60 / 7)))
    behind = catalog.passed(progress)
    left = sum(
        resource(a, progress, ctx.locale)["minutes"]
        for a in catalog.level_plan(ctx, skill, progress)
        if a["id"] not in behind
    )
    table = ctx.skills.data["strings"][ctx.locale]
    text = ctx.t(
        "how_long",
        title=shown["title"],
        duration=catalog.duration(shown["minutes"], table),
        hours=hours,
        days=days,
        left_hours=max(1, round(left / 60)),
        skill_title=skill_title(ctx, skill),
    )
    ctx.say(Reply(text=text, quick_replies=ctx.menu("after_assignment")))
    return None


ACTIONS = {
    "mark_done": mark_done,
    "skip_step": skip_step,
    "too_hard": too_hard,
    "too_easy": too_easy,
    "broken_link": broken_link,
    "how_long": how_long,
}
