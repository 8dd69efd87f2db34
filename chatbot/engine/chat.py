"""The engine: ``handle(update, conversation, skills, now)`` applies one update and says what the
bot answers. Pure: no network, no Flask, no clock of its own. It reads skills.json (through
``Skills``), runs the matching intent and returns the replies, changing the conversation in place."""

from __future__ import annotations

import time
from dataclasses import replace

from chatbot.core.text import shorten, utf16_len
from chatbot.engine.context import Context, IntentFailed, People, Turn, fill_payload, reply_from
from chatbot.engine.conversation import Conversation
from chatbot.engine.reading import CLARIFY, read
from chatbot.engine.skills import Skills
from chatbot.engine.types import Button, Reply, Update
from chatbot.engine.understand import ORDINALS, typed_command

MAX_REDIRECTS = 3
OFFER_TITLE = 20  # a button's title, as Messenger's quick replies allow
NAMED = ("level", "lang")  # what an offer's title says by its name ("Beginner"), not by its value


def normalize(text: str) -> str:
    return " ".join(text.split())[:1000]


def choose_intent(update: Update, conv: Conversation, skills: Skills, locale: str) -> tuple[str, dict]:
    bot = skills.data["bot"]
    if update.attachment and not update.text:
        return bot["attachment"], {}
    text = normalize(update.text)
    command = update.command or typed_command(text, skills.command_intents)
    if command:
        return skills.command_intents.get(command) or bot["fallback"], {}
    if update.payload:
        found = skills.match_payload(update.payload)
        return found if found else (bot["fallback"], {})
    if not text:
        return bot["fallback"], {}
    reading = read(update, conv, skills, locale, text)
    return reading.intent, reading.args


def add_offers(ctx: Context) -> str | None:
    """Not sure which act a message meant: the question skills.json words for ``clarify`` gets each
    likely act as a button, and "neither"; with none to offer, the fallback answers instead."""
    buttons = [Button(title, payload) for payload in ctx.args.get("offers", []) if (title := offer_title(ctx, payload))]
    titles = [b.title for b in buttons]
    for button in buttons:
        if titles.count(button.title) > 1:  # "1 h a week" for two skills: whose, first
            button.title = skill_first(ctx, button.payload, button.title)
    if not buttons or not ctx.replies:
        del ctx.replies[-1:]  # the question, with nothing to choose from: the fallback says it instead
        return ctx.skills.data["bot"]["fallback"]
    neither = [] if any(b.payload == "CANCEL" for b in buttons) else [Button(ctx.t("btn_neither"), payload="CANCEL")]
    ctx.replies[-1].quick_replies = [*buttons, *neither]  # "cancle": Cancel is one of them, once
    return None


def offer_title(ctx: Context, payload: str) -> str:
    """A button's words for ``payload``: the act's own words (``offer_<intent>``), else a skill's
    title (a pick), else the title of a menu's button for it."""
    found = ctx.skills.match_payload(payload)
    if not found:
        return ""
    intent, args = found
    strings = ctx.skills.data["strings"][ctx.locale]
    if f"offer_{intent}" in strings:
        # With what the button carries: "4 h a week", "Reminders at 19:00", a value the strings
        # name in words ("level_beginner": "Beginner").
        said = {
            k: ctx.t(f"{k}_{v}") if k in NAMED and f"{k}_{v}" in strings else v
            for k, v in args.items()
            if v is not None
        }
        return short_title(ctx.t(f"offer_{intent}", **said))
    skill = ctx.skills.skill(args.get("skill", "")) if list(args) == ["skill"] else None
    if skill is not None:
        return short_title(ctx.skills.localized(skill["title"], ctx.locale))
    for menu in ctx.skills.data.get("menus", {}).values():
        for item in menu:
            if "payload" in item and fill_payload(item["payload"], ctx.fields()) == payload:
                return ctx.t(item["title"])
    return ""


ARTICLES = frozenset({"the", "a", "an", "la", "el", "los", "las"})  # not a skill's short name


def skill_first(ctx: Context, payload: str, title: str) -> str:
    """``title`` after the name of the skill ``payload`` is about ("Python: 1 h a week")."""
    found = ctx.skills.match_payload(payload)
    skill = ctx.skills.skill(str(found[1].get("skill") or "")) if found else None
    if skill is None:
        return title
    name = ctx.skills.localized(skill["title"], ctx.locale)
    if found and f"{found[0]}_of" in ctx.skills.data["strings"][ctx.locale]:
        title = ctx.t(f"{found[0]}_of", **{k: v for k, v in found[1].items() if k != "skill"})  # "2 h"
    if utf16_len(f"{name}: {title}") > OFFER_TITLE:  # "SQL and databases": "SQL"; "The command line": "Command"
        words = [w.strip(":,") for w in name.split() if w.lower() not in ARTICLES]
        name = words[0][:1].upper() + words[0][1:] if words else name
    return short_title(f"{name}: {title}")


def short_title(text: str) -> str:
    """``text`` as a button's title: whole when it fits, else cut at a word with an ellipsis
    ("Containers with…", not "Containers with Dock")."""
    if utf16_len(text) <= OFFER_TITLE:
        return text
    cut = shorten(text, OFFER_TITLE)[:-1]
    head = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return head.rstrip(" ,:;–-") + "…"


def run_intent(name: str, ctx: Context) -> str:
    """Run intent ``name`` and the ones its action redirects to; the name of the one that answered."""
    for _ in range(MAX_REDIRECTS + 1):
        intent = ctx.skills.intents[name]
        try:
            for slot, value in intent.get("set", {}).items():
                ctx.conversation.slots[slot] = fill_payload(value, ctx.fields())
            redirect = ctx.skills.actions[intent["action"]](ctx) if "action" in intent else None
            if not redirect:
                for spec in intent.get("say", []):
                    ctx.say(reply_from(spec, ctx))
            if name == CLARIFY and not redirect:
                redirect = add_offers(ctx)
        except Exception as error:
            raise IntentFailed(name) from error
        if redirect:
            name = redirect
            continue
        if not ctx.goto_set:
            ctx.set_state(intent.get("goto"))
        return name
    raise IntentFailed(name) from RuntimeError(f"redirects more than {MAX_REDIRECTS} times")


def handle(
    update: Update,
    conv: Conversation,
    skills: Skills,
    now: float | None = None,
    window: float | None = None,
    people: People | None = None,
) -> Turn:
    """Apply one update to the conversation and return what the bot says and files. ``window``: how
    long after the person's last message their channel lets the bot write unprompted (None: any time).
    ``people``: whether a person can take the conversation over (None: nobody can)."""
    now = time.time() if now is None else now
    take_profile(update, conv)
    chosen_before = conv.profile.get("language")
    locale = locale_of(conv, skills, update)
    intent, args = choose_intent(update, conv, skills, locale)
    understood = dict(args)
    ctx = Context(
        update=update, conversation=conv, skills=skills, locale=locale, args=args, now=now, window=window, people=people
    )
    state_before = conv.state
    if not update.from_bot:
        count_misses(conv, intent == skills.data["bot"]["fallback"])
    answered = run_intent(intent, ctx)
    conv.state = state_before if update.from_bot else ctx.goto
    if not update.from_bot and conv.held and "on_return" in skills.data["bot"]:
        # Something the bot could not say while the person was away (Messenger's 24-hour window).
        held, conv.held = conv.held, ""
        run_intent(skills.data["bot"]["on_return"], replace(ctx, goto_set=True, args={"held": held}))
    remember_language(conv, skills, update, chosen_before)
    if not conv.created_at:
        conv.created_at = now
    conv.updated_at = now
    if not update.from_bot:
        conv.last_message_at = now
        if "after_message" in skills.data["bot"]:  # the bot's own bookkeeping after every message
            run_intent(skills.data["bot"]["after_message"], replace(ctx, goto_set=True, replies=[]))
        conv.choices = choices_on_screen(ctx.replies)
    filed = [] if ctx.erase else ctx.filed  # a person forgotten files nothing
    return Turn(
        ctx.replies,
        filed,
        intent=intent,
        args=understood,
        answered=answered,
        erase=ctx.erase,
        locale=ctx.locale,
        handoff=ctx.handoff,
        handoff_note=ctx.handoff_note,
    )


def count_misses(conv: Conversation, missed: bool) -> None:
    """How many messages in a row the bot did not understand (the fallback reads it), and what was on
    screen before this message: an intent that shows something says so again (``slots["screen"]``)."""
    if missed:
        conv.slots["misses"] = int(conv.slots.get("misses", 0)) + 1
        return
    conv.slots.pop("misses", None)
    conv.slots.pop("screen", None)


def choices_on_screen(replies: list[Reply]) -> list[dict]:
    """What typing may choose next: the last quick replies (with what they mean), and the cards of
    a list (two or more), each by its title and its place ("the second one")."""
    last_quick = [b for b in next((r.quick_replies for r in reversed(replies) if r.quick_replies), []) if b.payload]
    cards = next((r.cards for r in reversed(replies) if len(r.cards) >= 2), [])
    choices = [{"title": b.title, "payload": b.payload, "means": list(b.means)} for b in last_quick]
    if not cards and len(last_quick) > 1:  # the quick replies are the list: "the second one" (3–5 h)
        for n, choice in enumerate(choices):
            choice["place"] = _place(n, len(choices))
    single = next((r.cards for r in reversed(replies) if len(r.cards) == 1), [])
    for card in single:  # one card's buttons, by their titles and what typing them means ("done": ✅)
        choices += [{"title": b.title, "payload": b.payload, "means": list(b.means)} for b in card.buttons if b.payload]
    for n, card in enumerate(cards):
        payload = next((b.payload for b in card.buttons if b.payload), "")
        if payload:
            choices.append({"title": card.title, "payload": payload, "means": _place(n, len(cards))})
    return choices


def _place(n: int, of: int) -> list[str]:
    """What the ``n``-th of ``of`` choices is called by its place: "first", ..., "last"."""
    return [*([ORDINALS[n]] if n < len(ORDINALS) else []), *(["last"] if n == of - 1 else [])]


def take_profile(update: Update, conv: Conversation) -> None:
    """What the platform says of the person with each message: their name, language and time zone."""
    if not update.from_bot:
        said = {"first_name": update.first_name[:64], "locale": update.locale, "timezone": update.utc_offset}
        conv.profile.update({k: v for k, v in said.items() if v is not None and v != ""})


def apology(skills: Skills, conv: Conversation, update: Update) -> Reply:
    """What a person reads when the bot itself failed on their message."""
    return Reply(text=skills.text("sorry_error", locale_of(conv, skills, update)))


def locale_of(conv: Conversation, skills: Skills, update: Update) -> str:
    """The language of the message itself when its words say it; otherwise the last one the person
    wrote in, the one they chose, their platform's, in that order. A short word that both
    languages use ("ok", "no", "si") never switches it."""
    if update.text and not update.from_bot:
        found, margin = skills.language(update.text)
        if found and margin:
            return found
    known = conv.profile.get("seen_language") or conv.profile.get("language") or conv.profile.get("locale")
    return skills.pick_locale(known) if known or not update.text else skills.guess_locale(update.text)


def remember_language(conv: Conversation, skills: Skills, update: Update, chosen_before: str | None) -> None:
    """The language the person writes in (or just chose) is the one short messages are read in next."""
    chosen = conv.profile.get("language")
    if chosen and chosen != chosen_before:
        conv.profile["seen_language"] = chosen
        return
    if update.text and not update.from_bot:
        found, margin = skills.language(update.text)
        if found and margin:
            conv.profile["seen_language"] = found
