"""The mentor's catalog: its levels, its plans, and the rules a catalog must follow.

Pure functions over ``skills.json``'s ``catalog``, shared by the mentor's
actions and reminders; ``validate`` is the catalog's part of ``skills check``.
"""

from __future__ import annotations

import re

from chat import Context
from skills_check import LIMITS, fill
from texts import utf16_len

LEVELS = ("beginner", "intermediate", "advanced")
ASSIGNMENT_TYPES = ("article", "video", "course", "book", "tutorial", "interactive")


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


def was_offered(progress: dict, item_id: str) -> bool:
    return item_id == progress.get("next") or item_id in progress.get("offered", [])


def next_item(ctx: Context, skill: dict, progress: dict) -> dict | None:
    return next((a for a in level_plan(ctx, skill, progress) if a["id"] not in progress["done"]), None)


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
        # Id limits (24 + 16 ASCII) keep the longest payload, DONE:{skill}:{item}, within 64 bytes.
        if not re.match(r"^[a-z0-9-]{1,24}$", skill_id):
            errors.append(f"{where}.id: 1-24 of a-z, 0-9, -")
        if skill_id in seen:
            errors.append(f"{where}.id: {skill_id!r} appears twice")
        seen.add(skill_id)
        for key, limit in (("title", LIMITS["fb_element_title"]), ("summary", LIMITS["fb_element_subtitle"])):
            value = skill.get(key)
            if not isinstance(value, dict) or default not in value:
                errors.append(f"{where}.{key}: needs a {default!r} text")
                continue
            for locale, text in value.items():
                if locale not in strings:
                    errors.append(f"{where}.{key}.{locale}: unknown locale")
                if utf16_len(text) > limit:
                    errors.append(f"{where}.{key}.{locale}: longer than {limit}")
        items = skill.get("assignments", [])
        if len(items) < 1:
            errors.append(f"{where}.assignments: needs at least one")
        item_ids: set[str] = set()
        for m, item in enumerate(items):
            here = f"{where}.assignments[{m}]"
            missing = {"id", "type", "title", "author", "level", "minutes", "url"} - set(item)
            if missing:
                errors.append(f"{here}: missing {sorted(missing)}")
                continue
            if item["id"] in item_ids or not re.match(r"^[a-z0-9-]{1,16}$", item["id"]):
                errors.append(f"{here}.id: unique, 1-16 of a-z, 0-9, -")
            item_ids.add(item["id"])
            if item["type"] not in ASSIGNMENT_TYPES:
                errors.append(f"{here}.type: one of {ASSIGNMENT_TYPES}")
            if item["level"] not in LEVELS:
                errors.append(f"{here}.level: one of {LEVELS}")
            if not str(item["url"]).startswith("https://"):
                errors.append(f"{here}.url: must be https")
            if utf16_len(item["title"]) > LIMITS["fb_element_title"]:
                errors.append(f"{here}.title: longer than {LIMITS['fb_element_title']}")
            for locale in strings:
                subtitle = assignment_subtitle(item, strings[locale])
                if utf16_len(subtitle) > LIMITS["fb_element_subtitle"]:
                    errors.append(f"{here}: card subtitle in {locale!r} is longer than 80: {subtitle!r}")
    return errors


def assignment_subtitle(item: dict, table: dict) -> str:
    """``Video · 45 min · Author``: the card subtitle, shared by validation and the engine."""
    kind = table.get(f"type_{item['type']}", item["type"])
    duration = fill(table.get("minutes", "{minutes} min"), {"minutes": item["minutes"]})
    return f"{kind} · {duration} · {item['author']}"
