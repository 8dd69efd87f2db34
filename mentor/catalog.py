"""The mentor's catalog: its levels, its plans, and the rules a catalog must follow.

Pure functions over ``skills.json``'s ``catalog``, shared by the mentor's
actions and reminders; ``validate`` is the catalog's part of ``skills check``.
"""

from __future__ import annotations

import re

from chatbot.core.text import utf16_len
from chatbot.engine.context import Context
from chatbot.engine.skills_check import LIMITS, fill

LEVELS = ("beginner", "intermediate", "advanced")
ASSIGNMENT_TYPES = ("article", "video", "course", "book", "tutorial", "interactive")
WHOLE_BOOK_MINUTES = 600  # ten hours: honest for any book read through


def plan(skill: dict, level: str) -> list[dict]:
    """The assignments for a level: everything at or above it, in catalog order."""
    floor = LEVELS.index(level) if level in LEVELS else 0
    return [a for a in skill["assignments"] if LEVELS.index(a["level"]) >= floor]


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
        if items and len(plan({"assignments": [i for i in items if i.get("level") in LEVELS]}, level)) < 2:
            errors.append(f"{where}: the {level} plan needs at least two assignments")
    return errors


RESOURCE_KEYS = {"type", "title", "author", "minutes", "url", "lang", "free"}


def _resource(here: str, item: dict, strings: dict) -> list[str]:
    """A resource's facts and labels: what it is, how long it takes, its language, whether it costs."""
    missing = RESOURCE_KEYS - set(item)
    if missing:
        return [f"{here}: missing {sorted(missing)}"]
    errors = []
    if item["type"] not in ASSIGNMENT_TYPES:
        errors.append(f"{here}.type: one of {ASSIGNMENT_TYPES}")
    if not isinstance(item["free"], bool):
        errors.append(f"{here}.free: true or false (a paid resource is labelled as such)")
    if item["type"] == "book" and not item.get("part") and item["minutes"] < WHOLE_BOOK_MINUTES:
        errors.append(f"{here}.minutes: a whole book takes at least {WHOLE_BOOK_MINUTES} (or mark it part: true)")
    editions = item.get("editions", {})
    for locale in [item["lang"], *editions]:
        if not any(f"in_lang_{locale}" in table for table in strings.values()):
            errors.append(f"{here}: no string in_lang_{locale} to label its language")
    for locale, edition in editions.items():
        if locale not in strings or not str(edition.get("url", "")).startswith("https://") or "title" not in edition:
            errors.append(f"{here}.editions.{locale}: a locale of strings, with a title and an https url")
    for version in [item, *({**item, **e, "lang": loc} for loc, e in editions.items())]:
        if not str(version["url"]).startswith("https://"):
            errors.append(f"{here}.url: must be https")
        if utf16_len(version["title"]) > LIMITS["card_title"]:
            errors.append(f"{here}.title: longer than {LIMITS['card_title']}")
        for locale in strings:
            subtitle = assignment_subtitle(version, strings[locale], locale)
            if utf16_len(subtitle) > LIMITS["card_subtitle"]:
                errors.append(f"{here}: card subtitle in {locale!r} is longer than 80: {subtitle!r}")
    return errors


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
