"""A person behind the mentor: asking for one, going back to the bot, and the offer after two misses.

The engine says whether a person can take over (``ctx.people``: None when nobody can); these
actions ask the relay to hand the conversation over or back (``ctx.handoff``) and say so. The
relay does the rest (chatbot/delivery/handoff.py): the owner's topic, the messages both ways, the
goodbye when a person ends it (the intent for HANDOFF_ENDED).
"""

from __future__ import annotations

from chatbot.engine.context import Context
from chatbot.engine.types import Button, Reply
from mentor.catalog import current_skill, next_item, percent, resource

ASK = "HUMAN"  # the payload of "Talk to a person"
BACK = "BOT"  # the payload of "Back to the bot"


def ask_for_person(ctx: Context) -> str | None:
    """ "Can I talk to a real person?": handed over when someone can take it, honestly told when not."""
    people = ctx.people
    if people is None:
        ctx.say(Reply(text=ctx.t("human"), quick_replies=ctx.menu("main_menu")))
        return None
    back = Button(ctx.t("btn_back_to_bot"), payload=BACK)
    if people.open:
        ctx.say(Reply(text=ctx.t("handoff_already"), quick_replies=[back]))
        return None
    ctx.handoff, ctx.handoff_note = "open", where(ctx)
    text = ctx.t("handoff_opened")
    if not people.around and people.back_at:
        text += " " + ctx.t("handoff_later", when=when(ctx, people.back_at))
    ctx.say(Reply(text=text, quick_replies=[back]))
    return None


def back_to_bot(ctx: Context) -> str | None:
    """ "Back to the bot" (/bot): the handoff ends and the bot answers again; progress as it was."""
    people = ctx.people
    if people is not None and people.open:
        ctx.handoff = "close"
        ctx.say(Reply(text=ctx.t("handoff_back"), quick_replies=ctx.menu("main_menu")))
    else:
        ctx.say(Reply(text=ctx.t("handoff_not_open"), quick_replies=ctx.menu("main_menu")))
    return None


def offer_person(ctx: Context) -> list[Button]:
    """ "Talk to a person", for the fallback to offer once the bot missed twice in a row, when
    someone can take over."""
    if ctx.people is None or ctx.people.open:
        return []
    return [Button(ctx.t("btn_human"), payload=ASK)]


def where(ctx: Context) -> str:
    """For the person taking over, in the bot's own language: the skill and the step the learner is on."""
    skill, progress = current_skill(ctx)
    if skill is None or progress is None:
        return ""
    owner = ctx.skills.default_locale
    done, total, _ = percent(ctx, skill, progress)
    item = next_item(ctx, skill, progress)
    fields = {"skill_title": ctx.skills.localized(skill["title"], owner), "step": done + 1, "total": total}
    if item is None:
        return ctx.skills.text("handoff_note_done", owner, **fields)
    title = resource(item, progress, owner).get("title", "")
    return ctx.skills.text("handoff_note", owner, title=ctx.skills.localized(title, owner), **fields)


def when(ctx: Context, at: float) -> str:
    """When a person is back, on the learner's clock when their time zone is known (else UTC)."""
    offset = ctx.conversation.profile.get("timezone")
    zone = float(offset) if isinstance(offset, int | float) else 0.0
    local, today = at + zone * 3600, ctx.now + zone * 3600
    hour, minute = int(local % 86400 // 3600), int(local % 3600 // 60)
    time = f"{hour}:{minute:02d}" + ("" if isinstance(offset, int | float) else " UTC")
    days = int(local // 86400) - int(today // 86400)
    if days <= 0:
        return ctx.t("handoff_when_today", time=time)
    if days == 1:
        return ctx.t("handoff_when_tomorrow", time=time)
    weekday = int(local // 86400 + 3) % 7  # 1970-01-01 was a Thursday; 0 is Monday
    return ctx.t("handoff_when_day", day=ctx.t(f"weekday_{weekday}"), time=time)


ACTIONS = {"ask_for_person": ask_for_person, "back_to_bot": back_to_bot}
