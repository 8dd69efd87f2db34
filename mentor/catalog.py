"""The mentor's catalog: its levels, its plans, and the rules a catalog must follow.

Pure functions over ``skills.json``'s ``catalog``, shared by the mentor's
actions and reminders; ``validate`` is the catalog's part of ``skills check``.
"""

from __future__ import annotations

import ipaddress
import math
import re
from urllib.parse import urlsplit

from chatbot.core.text import utf16_len
from chatbot.engine.context import Context
from chatbot.engine.skills_check import LIMITS, fill

LEVELS = ("beginner", "intermediate", "advanced")
ASSIGNMENT_TYPES = ("article", "video", "course", "book", "tutorial", "interactive")
# One step fits a reminder's cadence: a sitting or a few, never a whole book (hand out its chapters).
MIN_MINUTES, MAX_MINUTES = 15, 240
MIN_LEVEL_STEPS = 3  # a level's plan, from where the learner stands to its milestone
MILESTONE_MAX = 200  # a sentence: it is quoted inside the plan's message


def plan(skill: dict, level: str) -> list[dict]:
    """The assignments of a level, in catalog order: the plan from where the learner stands to
    that level's milestone."""
    level = level if level in LEVELS else LEVELS[0]
    return [a for a in skill["assignments"] if a["level"] == level]


def milestone(ctx: Context, skill: dict, level: str) -> str:
    """What the learner can do once the level's plan is done."""
    return ctx.skills.localized(skill["milestones"][level], ctx.locale)


def steps_left(skill: dict, level: str, progress: dict) -> list[dict]:
    behind = passed(progress)
    return [a for a in plan(skill, level) if a["id"] not in behind]


def how_long(ctx: Context, items: list[dict], hours: int) -> str:
    """ "about 3 weeks": the time ``items`` take at ``hours`` a week."""
    weeks = max(1, math.floor(sum(a["minutes"] for a in items) / (max(1, hours) * 60) + 0.5))
    return ctx.t("duration_one" if weeks == 1 else "duration_many", weeks=weeks)


def how_many(ctx: Context, items: list[dict]) -> str:
    """ "5 assignments", "1 assignment"."""
    return ctx.t("assignments_one" if len(items) == 1 else "assignments_many", count=len(items))


def level_after(skill: dict, progress: dict) -> str | None:
    """The next level up with steps still to do, once the learner's level is done; None at the top."""
    level = progress.get("level", LEVELS[0])
    above = LEVELS[LEVELS.index(level) + 1 :] if level in LEVELS else LEVELS[1:]
    return next((lv for lv in above if steps_left(skill, lv, progress)), None)


def skill_title(ctx: Context, skill: dict) -> str:
    return ctx.skills.localized(skill["title"], ctx.locale)


def current_skill(ctx: Context) -> tuple[dict | None, dict | None]:
    """The skill named by the payload, else the one in the slot, else the latest one in progress."""
    progress = ctx.conversation.progress
    skill_id = ctx.args.get("skill") or ctx.conversation.slots.get("skill", "")
    if not skill_id and progress:
        unfinished = [k for k, v in progress.items() if not v.get("finished_at")] or list(progress)
        skill_id = max(unfinished, key=lambda k: progress[k].get("started_at", 0))
    skill = ctx.skills.skill(skill_id)
    return skill, (ctx.conversation.progress.get(skill_id) if skill else None)


def level_plan(ctx: Context, skill: dict, progress: dict) -> list[dict]:
    return plan(skill, progress.get("level", "beginner"))


def percent(ctx: Context, skill: dict, progress: dict) -> tuple[int, int, int]:
    items = level_plan(ctx, skill, progress)
    done = sum(1 for a in items if a["id"] in progress.get("done", []))
    return done, len(items), round(100 * done / len(items)) if items else 100


def offer(progress: dict, item: dict) -> None:
    """Remember that this assignment was shown: only what was offered can be ticked off."""
    progress["next"] = item["id"]
    offered = progress.setdefault("offered", [])
    if item["id"] not in offered:
        offered.append(item["id"])


def show(ctx: Context, skill: dict, progress: dict, item: dict) -> None:
    """The card of ``item`` goes out: typed "done", "skip" or "too hard" will mean this one."""
    offer(progress, item)
    ctx.conversation.slots.update(shown=f"{skill['id']}:{item['id']}", skill=skill["id"], item=item["id"])
    ctx.conversation.slots["screen"] = "card"
    ctx.args.update(skill=skill["id"], item=item["id"])  # the card's own buttons name this step


def was_offered(progress: dict, item_id: str) -> bool:
    return item_id == progress.get("next") or item_id in progress.get("offered", [])


def passed(progress: dict) -> set[str]:
    """Steps behind the learner: done, or skipped on purpose."""
    return {*progress.get("done", []), *progress.get("skipped", [])}


def next_item(ctx: Context, skill: dict, progress: dict) -> dict | None:
    behind = passed(progress)
    return next((a for a in level_plan(ctx, skill, progress) if a["id"] not in behind), None)


def resource(item: dict, progress: dict | None, locale: str) -> dict:
    """What the learner is handed for a step: the step's resource, or its alternative once they
    asked for another way, in their language when an edition exists."""
    chosen = item["alternative"] if progress and item["id"] in progress.get("alt", []) else item
    edition = chosen.get("editions", {}).get(locale)
    found = {**chosen, **edition, "lang": locale} if edition else dict(chosen)
    found["id"] = item["id"]
    return found


def note(shown: dict, locale: str) -> str:
    """A word for a reader whose language the resource is not in (``resource()``'s answer): how to
    make the most of it anyway. Empty when it is in their language."""
    return "" if shown.get("lang") == locale else shown.get("note", {}).get(locale, "")


def on_alternative(progress: dict, item_id: str) -> bool:
    return item_id in progress.get("alt", [])


def validate(data: dict) -> list[str]:
    """The catalog's rules, for ``skills check`` (run after the file's shape is known good)."""
    return validate_catalog(data["catalog"], data["strings"], data["bot"]["default_locale"])


def validate_catalog(catalog: list, strings: dict, default: str) -> list[str]:
    errors: list[str] = []
    seen: set[str] = set()
    if len(catalog) < 1:
        errors.append("catalog: needs at least one skill")
    for n, skill in enumerate(catalog):
        where = f"catalog[{n}]"
        skill_id = skill.get("id", "")
        # Id limits (24 + 16 ASCII) keep the longest payload, BROKEN:{skill}:{item}, within 64 bytes.
        if not re.match(r"^[a-z0-9-]{1,24}$", skill_id):
            errors.append(f"{where}.id: 1-24 of a-z, 0-9, -")
        if skill_id in seen:
            errors.append(f"{where}.id: {skill_id!r} appears twice")
        seen.add(skill_id)
        errors += _texts(where, skill, strings, default)
        errors += _milestones(where, skill.get("milestones"), strings)
        errors += _steps(where, skill.get("assignments", []), strings)
    errors += _links(catalog, strings)
    return errors


def _texts(where: str, skill: dict, strings: dict, default: str) -> list[str]:
    errors = []
    for key, limit in (("title", LIMITS["card_title"]), ("summary", LIMITS["card_subtitle"])):
        value = skill.get(key)
        if not isinstance(value, dict) or default not in value:
            errors.append(f"{where}.{key}: needs a {default!r} text")
            continue
        for locale, text in value.items():
            if locale not in strings:
                errors.append(f"{where}.{key}.{locale}: unknown locale")
            if utf16_len(text) > limit:
                errors.append(f"{where}.{key}.{locale}: longer than {limit}")
    return errors


def _milestones(where: str, milestones: object, strings: dict) -> list[str]:
    """Each level's plan ends at a milestone: what the learner can do then, in every language."""
    if not isinstance(milestones, dict):
        return [f"{where}.milestones: what a learner can do at the end of each level, {list(LEVELS)}"]
    errors = [f"{where}.milestones.{level}: not a level" for level in milestones if level not in LEVELS]
    for level in LEVELS:
        texts = milestones.get(level)
        for locale in strings:
            text = texts.get(locale) if isinstance(texts, dict) else None
            if not isinstance(text, str) or not text.strip():
                errors.append(f"{where}.milestones.{level}.{locale}: what a learner can do at the end of it")
            elif utf16_len(text) > MILESTONE_MAX:
                errors.append(f"{where}.milestones.{level}.{locale}: longer than {MILESTONE_MAX}")
    return errors


def _steps(where: str, items: list, strings: dict) -> list[str]:
    errors: list[str] = []
    if len(items) < 1:
        errors.append(f"{where}.assignments: needs at least one")
    item_ids: set[str] = set()
    for m, item in enumerate(items):
        here = f"{where}.assignments[{m}]"
        missing = {"id", "level", "alternative"} - set(item)
        if missing:
            errors.append(f"{here}: missing {sorted(missing)}")
            continue
        if item["id"] in item_ids or not re.match(r"^[a-z0-9-]{1,16}$", item["id"]):
            errors.append(f"{here}.id: unique, 1-16 of a-z, 0-9, -")
        item_ids.add(item["id"])
        if item["level"] not in LEVELS:
            errors.append(f"{here}.level: one of {LEVELS}")
        errors += _resource(here, item, strings)
        errors += _resource(f"{here}.alternative", item["alternative"], strings)
        if item["alternative"].get("url") == item.get("url"):
            errors.append(f"{here}.alternative: must be another resource than the step's own")
    for level in LEVELS:
        count = sum(1 for i in items if i.get("level") == level)
        if items and count < MIN_LEVEL_STEPS:
            errors.append(f"{where}: the {level} level needs at least {MIN_LEVEL_STEPS} steps, it has {count}")
    return errors


RESOURCE_KEYS = {"type", "title", "author", "minutes", "url", "lang", "free"}


def _resource(here: str, item: dict, strings: dict) -> list[str]:
    """A resource's facts and labels: what it is, how long it takes, its language, whether it costs,
    a well-formed link, and for a reader of another language an edition in it or a note."""
    missing = RESOURCE_KEYS - set(item)
    if missing:
        return [f"{here}: missing {sorted(missing)}"]
    errors = []
    if item["type"] not in ASSIGNMENT_TYPES:
        errors.append(f"{here}.type: one of {ASSIGNMENT_TYPES}")
    if not isinstance(item["free"], bool):
        errors.append(f"{here}.free: true or false (a paid resource is labelled as such)")
    minutes = item["minutes"]
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        errors.append(
            f"{here}.minutes: {MIN_MINUTES} to {MAX_MINUTES}, one or a few sittings (a book is handed out by chapters)"
        )
    editions = item.get("editions", {})
    for locale in [item["lang"], *editions]:
        if not any(f"in_lang_{locale}" in table for table in strings.values()):
            errors.append(f"{here}: no string in_lang_{locale} to label its language")
    for locale, edition in editions.items():
        if locale not in strings or "title" not in edition or "url" not in edition:
            errors.append(f"{here}.editions.{locale}: a locale of strings, with a title and an https url")
    errors += _notes(here, item, strings)
    for version in [item, *({**item, **e, "lang": loc} for loc, e in editions.items())]:
        problem = url_problem(version["url"])
        if problem:
            edition = "" if version is item else f".editions.{version['lang']}"
            errors.append(f"{here}{edition}.url: {problem}: {version['url']!r}")
        if utf16_len(version["title"]) > LIMITS["card_title"]:
            errors.append(f"{here}.title: longer than {LIMITS['card_title']}")
        for locale in strings:
            subtitle = assignment_subtitle(version, strings[locale], locale)
            if utf16_len(subtitle) > LIMITS["card_subtitle"]:
                errors.append(f"{here}: card subtitle in {locale!r} is longer than 80: {subtitle!r}")
    return errors


def _notes(here: str, item: dict, strings: dict) -> list[str]:
    """A reader of each language the bot speaks gets the resource in it (an edition), or a note in
    it saying how to make the most of it anyway (shown under the card)."""
    errors = []
    notes = item.get("note", {})
    editions = item.get("editions", {})
    for locale, text in notes.items():
        if locale not in strings or locale in editions or locale == item["lang"]:
            errors.append(f"{here}.note.{locale}: only for a language the bot speaks and the resource is not in")
        elif not isinstance(text, str) or not text.strip() or utf16_len(text) > LIMITS["text"]:
            errors.append(f"{here}.note.{locale}: a sentence, at most {LIMITS['text']} long")
    for locale in strings:
        if locale != item["lang"] and locale not in editions and locale not in notes:
            errors.append(f"{here}: neither an edition in {locale!r} nor a note in {locale!r} for its readers")
    return errors


HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def url_problem(url: object) -> str | None:
    """What is wrong with a resource's link, or None: a plain https address of a named host, read
    with urllib.parse and no network. Stable, well-known sources need nothing more."""
    if not isinstance(url, str) or not url.strip():
        return "a link is required"
    if any(c.isspace() or not c.isprintable() or c in '<>"{}|\\^`' for c in url):
        return "a link has no spaces, quotes or control characters"
    if not url.startswith("https://"):
        return "must be https"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a well-formed link"
    if "@" in parts.netloc:
        return "no user name or password in a link"
    if port is not None or parts.netloc.endswith(":"):
        return "no port: the source's own https address"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "a link needs a host"
    try:
        ipaddress.ip_address(host.strip("[]"))
        return "a host name, not an IP address"
    except ValueError:
        pass
    try:
        labels = host.encode("idna").decode("ascii").split(".")
    except UnicodeError:
        return "not a well-formed host name"
    if len(labels) < 2 or not all(HOST_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return "a host name with a dot, like docs.python.org (letters, digits, hyphens)"
    return None


def _links(catalog: list, strings: dict) -> list[str]:
    """Every skill leads somewhere when finished, and no name points at two skills."""
    errors = []
    ids = {s.get("id") for s in catalog}
    owners: dict[str, str] = {}
    for n, skill in enumerate(catalog):
        following = skill.get("next", [])
        if len(catalog) > 1 and (not following or any(f not in ids or f == skill.get("id") for f in following)):
            errors.append(f"catalog[{n}].next: one or more other skills' ids, offered when this one is finished")
        synonyms = skill.get("synonyms", {})
        for locale in strings:
            if not synonyms.get(locale):
                errors.append(f"catalog[{n}].synonyms.{locale}: the words people use for it")
        for phrase in [p for words in synonyms.values() for p in words]:
            key = phrase.casefold()
            if owners.setdefault(key, skill.get("id")) != skill.get("id"):
                errors.append(f"catalog[{n}].synonyms: {phrase!r} also names {owners[key]!r}")
    return errors


def duration(minutes: int, table: dict) -> str:
    """ "45 min", or "30 h" from two hours up."""
    if minutes >= 120:
        return fill(table.get("hours_long", "{hours} h"), {"hours": round(minutes / 60)})
    return fill(table.get("minutes", "{minutes} min"), {"minutes": minutes})


def assignment_subtitle(item: dict, table: dict, locale: str = "") -> str:
    """``Book · 30 h · Author · in English · paid``: the card subtitle, shared by validation and the
    engine; the language is said when it is not the reader's, the price when there is one."""
    kind = table.get(f"type_{item['type']}", item["type"])
    parts = [kind, duration(item["minutes"], table), item["author"]]
    if locale and item.get("lang", locale) != locale:
        parts.append(table.get(f"in_lang_{item['lang']}", item["lang"]))
    if item.get("free") is False:
        parts.append(table.get("paid", "paid"))
    return " · ".join(parts)
