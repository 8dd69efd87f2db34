"""Load and validate skills.json: the conversation as data.

Validation runs at load time and in CI (``flask --app app skills check``). It
checks the shape, every reference (string keys, menus, states, actions,
payload targets) and every platform limit in every locale, so a skill that
Messenger or Telegram would refuse fails the build instead of a user.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Platform limits that rendering and validation rely on (Messenger Send API, Telegram Bot API).
LIMITS = {
    "fb_text": 2000,
    "fb_quick_replies": 13,
    "fb_quick_reply_title": 20,
    "fb_button_title": 20,
    "fb_button_template_text": 640,
    "fb_buttons": 3,
    "fb_elements": 10,
    "fb_element_title": 80,
    "fb_element_subtitle": 80,
    "fb_payload": 1000,
    "fb_greeting": 160,
    "fb_menu_title": 30,
    "fb_ice_breaker": 80,
    "tg_text": 4096,
    "tg_caption": 1024,
    "tg_callback_data": 64,
    "tg_command": 32,
    "tg_command_description": 256,
}

LEVELS = ("beginner", "intermediate", "advanced")
ASSIGNMENT_TYPES = ("article", "video", "course", "book", "tutorial", "interactive")
# {name} is ours to fill; {{name}} is left alone (Messenger's greeting fills {{user_first_name}}).
FIELD_RE = re.compile(r"(?<!\{)\{([a-z_][a-z0-9_]*)\}(?!\})")
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
PAYLOAD_RE = re.compile(r"^[A-Z][A-Z0-9_]*(:(\{[a-z_]+\}|[A-Za-z0-9_.-]+))*$")


class SkillsError(ValueError):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s) in skills file:\n  " + "\n  ".join(errors))


def utf16_len(text: str) -> int:
    """Length as Telegram and Messenger count it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def fill(template: str, fields: dict[str, Any]) -> str:
    """Replace ``{name}`` fields; values are inserted as plain text and never re-read as templates."""
    return FIELD_RE.sub(lambda m: str(fields.get(m.group(1), "")), template)


def payload_pattern(template: str) -> re.Pattern:
    """``DONE:{skill}:{item}`` -> a regex with named groups."""
    parts = re.split(r"(\{[a-z_]+\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>[^:]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


@dataclass
class Skills:
    data: dict
    actions: dict[str, Callable] = field(default_factory=dict)
    payload_intents: list[tuple[re.Pattern, str]] = field(default_factory=list)
    command_intents: dict[str, str] = field(default_factory=dict)
    text_intents: dict[str, list[tuple[re.Pattern, str, tuple]]] = field(default_factory=dict)
    aliases: dict[tuple[str, str], list[tuple[re.Pattern, str]]] = field(default_factory=dict)

    @property
    def locales(self) -> list[str]:
        return list(self.data["strings"])

    @property
    def default_locale(self) -> str:
        return self.data["bot"]["default_locale"]

    @property
    def intents(self) -> dict[str, dict]:
        return self.data["intents"]

    @property
    def states(self) -> dict[str, dict]:
        return self.data.get("states", {})

    @property
    def catalog(self) -> list[dict]:
        return self.data["catalog"]

    @property
    def commands(self) -> list[dict]:
        return self.data.get("commands", [])

    def pick_locale(self, wanted: str | None) -> str:
        """``es_ES``, ``es-419`` or ``es`` -> ``es`` when we speak it; else the default."""
        if wanted:
            short = wanted.replace("-", "_").split("_")[0].lower()
            if short in self.data["strings"]:
                return short
        return self.default_locale

    def text(self, key: str, locale: str, /, **fields: Any) -> str:
        strings = self.data["strings"]
        template = strings.get(locale, {}).get(key) or strings[self.default_locale][key]
        return fill(template, fields)

    def skill(self, skill_id: str) -> dict | None:
        return next((s for s in self.catalog if s["id"] == skill_id), None)

    def localized(self, value: dict | str, locale: str) -> str:
        if isinstance(value, str):
            return value
        return value.get(locale) or value[self.default_locale]

    def plan(self, skill: dict, level: str) -> list[dict]:
        """The assignments for a level: everything at or above it, in catalog order."""
        floor = LEVELS.index(level) if level in LEVELS else 0
        return [a for a in skill["assignments"] if LEVELS.index(a["level"]) >= floor]

    def match_payload(self, payload: str) -> tuple[str, dict] | None:
        for pattern, intent in self.payload_intents:
            found = pattern.match(payload)
            if found:
                return intent, found.groupdict()
        return None

    def _with_fallback(self, locale: str) -> list[str]:
        # People mix languages: the user's patterns first, then the default's, then the rest.
        return list(dict.fromkeys([locale, self.default_locale, *self.data["strings"]]))

    def match_alias(self, state: str | None, locale: str, text: str) -> str | None:
        for loc in self._with_fallback(locale):
            for pattern, target in self.aliases.get((state or "", loc), []):
                found = pattern.search(text)
                if found:
                    return fill(target, found.groupdict())
        return None

    def match_text(self, state: str | None, locale: str, text: str) -> tuple[str, dict] | None:
        """A text pattern for this state first, then one that applies anywhere."""
        candidates = [c for loc in self._with_fallback(locale) for c in self.text_intents.get(loc, [])]
        for scoped in (True, False):
            for pattern, intent, in_states in candidates:
                if bool(in_states) != scoped or (scoped and state not in in_states):
                    continue
                found = pattern.search(text)
                if found:
                    return intent, found.groupdict()
        return None


def load(path: str, actions: dict[str, Callable] | None = None) -> Skills:
    with open(path, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as error:
            raise SkillsError([f"{path}: not valid JSON: {error}"]) from error
    return build(data, actions or {})


def build(data: dict, actions: dict[str, Callable]) -> Skills:
    errors = validate(data, actions)
    if errors:
        raise SkillsError(errors)
    skills = Skills(data=data, actions=actions)
    for name, intent in data["intents"].items():
        triggers = intent.get("triggers", {})
        for template in triggers.get("payloads", []):
            skills.payload_intents.append((payload_pattern(template), name))
        for command in triggers.get("commands", []):
            skills.command_intents[command] = name
        in_states = tuple(triggers.get("in_states", ()))
        for locale, patterns in triggers.get("patterns", {}).items():
            for pattern in patterns:
                compiled = re.compile(pattern, re.IGNORECASE)
                skills.text_intents.setdefault(locale, []).append((compiled, name, in_states))
    for state_name, state in data.get("states", {}).items():
        for locale, table in state.get("aliases", {}).items():
            skills.aliases[(state_name, locale)] = [
                (re.compile(pattern, re.IGNORECASE), target) for pattern, target in table.items()
            ]
    return skills


# ---------------------------------------------------------------- validation


def validate(data: Any, actions: dict[str, Callable]) -> list[str]:
    """Every problem in the file, each naming where it is; an empty list means valid."""
    errors: list[str] = []
    if not isinstance(data, dict):
        return ["top level: must be an object"]
    for key, kind in (("bot", dict), ("strings", dict), ("intents", dict), ("catalog", list)):
        if not isinstance(data.get(key), kind):
            errors.append(f"{key}: required, must be {'an object' if kind is dict else 'a list'}")
    if errors:
        return errors
    strings = data["strings"]
    default = data["bot"].get("default_locale")
    if default not in strings:
        errors.append(f"bot.default_locale: {default!r} has no strings")
        return errors
    if len(strings) < 2:
        errors.append("strings: at least two locales are required")
    for locale, table in strings.items():
        missing = set(strings[default]) - set(table)
        if missing:
            errors.append(f"strings.{locale}: missing keys {sorted(missing)}")
        for key, value in table.items():
            if not isinstance(value, str) or not value.strip():
                errors.append(f"strings.{locale}.{key}: must be a non-empty string")
            elif utf16_len(value) > LIMITS["fb_text"]:
                errors.append(f"strings.{locale}.{key}: longer than {LIMITS['fb_text']} characters")
    if errors:
        return errors

    menus = data.get("menus", {})
    states = data.get("states", {})
    intents = data["intents"]
    payload_templates = [p for i in intents.values() for p in i.get("triggers", {}).get("payloads", [])]

    def check_string(where: str, key: Any, limit: int | None = None, fields_ok: bool = True):
        if not isinstance(key, str) or key not in strings[default]:
            errors.append(f"{where}: unknown string key {key!r}")
            return
        for locale in strings:
            value = strings[locale].get(key, "")
            if limit and utf16_len(fill(value, {})) > limit:
                errors.append(f"{where}: string {key!r} in {locale!r} is longer than {limit}")
            if not fields_ok and FIELD_RE.search(value):
                errors.append(f"{where}: string {key!r} in {locale!r} may not contain fields")

    def check_payload(where: str, payload: Any):
        if not isinstance(payload, str) or not PAYLOAD_RE.match(payload):
            errors.append(f"{where}: payload {payload!r} must look like NAME or NAME:arg")
            return
        if len(payload) > LIMITS["fb_payload"]:
            errors.append(f"{where}: payload longer than {LIMITS['fb_payload']}")
        if not any(payload_pattern(t).match(payload) or t == payload for t in payload_templates):
            concrete = FIELD_RE.sub("x", payload)
            if not any(payload_pattern(t).match(concrete) for t in payload_templates):
                errors.append(f"{where}: payload {payload!r} is not handled by any intent")

    def check_buttons(where: str, buttons: Any, limit: int, quick: bool):
        if isinstance(buttons, str):
            if buttons not in menus:
                errors.append(f"{where}: unknown menu {buttons!r}")
            return
        if not isinstance(buttons, list):
            errors.append(f"{where}: must be a list or a menu name")
            return
        if len(buttons) > limit:
            errors.append(f"{where}: {len(buttons)} buttons, the limit is {limit}")
        for n, button in enumerate(buttons):
            here = f"{where}[{n}]"
            if not isinstance(button, dict) or "title" not in button:
                errors.append(f"{here}: must be an object with a title")
                continue
            title_limit = LIMITS["fb_quick_reply_title"] if quick else LIMITS["fb_button_title"]
            check_string(f"{here}.title", button["title"], title_limit, fields_ok=False)
            if ("payload" in button) == ("url" in button) or (quick and "url" in button):
                errors.append(
                    f"{here}: needs exactly one of payload or url" + (" (quick replies: payload)" if quick else "")
                )
            if "payload" in button:
                check_payload(here, button["payload"])
            if "url" in button and not str(button["url"]).startswith("https://"):
                errors.append(f"{here}: url must be https")

    for name, buttons in menus.items():
        check_buttons(f"menus.{name}", buttons, LIMITS["fb_quick_replies"], quick=True)

    def check_replies(where: str, replies: Any):
        if not isinstance(replies, list):
            errors.append(f"{where}: must be a list")
            return
        for n, reply in enumerate(replies):
            here = f"{where}[{n}]"
            if not isinstance(reply, dict) or not ({"text", "cards"} & set(reply)):
                errors.append(f"{here}: needs text or cards")
                continue
            unknown = set(reply) - {"text", "quick_replies", "buttons", "cards"}
            if unknown:
                errors.append(f"{here}: unknown keys {sorted(unknown)}")
            if "text" in reply:
                limit = LIMITS["fb_button_template_text"] if reply.get("buttons") else LIMITS["fb_text"]
                check_string(f"{here}.text", reply["text"], limit)
            if "quick_replies" in reply:
                check_buttons(f"{here}.quick_replies", reply["quick_replies"], LIMITS["fb_quick_replies"], True)
            if "buttons" in reply:
                check_buttons(f"{here}.buttons", reply["buttons"], LIMITS["fb_buttons"], False)
            for c, card in enumerate(reply.get("cards", [])):
                check_string(f"{here}.cards[{c}].title", card.get("title"), LIMITS["fb_element_title"])
                if "subtitle" in card:
                    check_string(f"{here}.cards[{c}].subtitle", card["subtitle"], LIMITS["fb_element_subtitle"])
                check_buttons(f"{here}.cards[{c}].buttons", card.get("buttons", []), LIMITS["fb_buttons"], False)

    for name, intent in intents.items():
        where = f"intents.{name}"
        if not isinstance(intent, dict):
            errors.append(f"{where}: must be an object")
            continue
        unknown = set(intent) - {"triggers", "action", "set", "say", "goto", "description"}
        if unknown:
            errors.append(f"{where}: unknown keys {sorted(unknown)}")
        if "action" in intent and intent["action"] not in actions:
            errors.append(f"{where}.action: no action named {intent['action']!r}")
        if intent.get("goto") is not None and intent["goto"] not in states:
            errors.append(f"{where}.goto: no state named {intent['goto']!r}")
        if "action" not in intent and "say" not in intent:
            errors.append(f"{where}: needs an action or something to say")
        check_replies(f"{where}.say", intent.get("say", []))
        triggers = intent.get("triggers", {})
        for command in triggers.get("commands", []):
            if not COMMAND_RE.match(command):
                errors.append(f"{where}.triggers.commands: {command!r} must be 1-32 of a-z, 0-9, _")
        for state in triggers.get("in_states", []):
            if state not in states:
                errors.append(f"{where}.triggers.in_states: no state named {state!r}")
        for locale, patterns in triggers.get("patterns", {}).items():
            if locale not in strings:
                errors.append(f"{where}.triggers.patterns: no strings for locale {locale!r}")
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as error:
                    errors.append(f"{where}.triggers.patterns.{locale}: {pattern!r}: {error}")
        for template in triggers.get("payloads", []):
            if not PAYLOAD_RE.match(template):
                errors.append(f"{where}.triggers.payloads: {template!r} must look like NAME or NAME:{{arg}}")

    for name, state in states.items():
        unknown = set(state) - {"aliases", "on_text", "capture_text", "description"}
        if unknown:
            errors.append(f"states.{name}: unknown keys {sorted(unknown)}")
        if "on_text" in state and state["on_text"] not in intents:
            errors.append(f"states.{name}.on_text: no intent named {state['on_text']!r}")
        for locale, table in state.get("aliases", {}).items():
            for pattern, target in table.items():
                try:
                    re.compile(pattern)
                except re.error as error:
                    errors.append(f"states.{name}.aliases.{locale}: {pattern!r}: {error}")
                check_payload(f"states.{name}.aliases.{locale}", target)

    profile = data["bot"].get("messenger_profile", {})
    if "greeting" in profile:
        check_string("bot.messenger_profile.greeting", profile["greeting"], LIMITS["fb_greeting"])
    for n, item in enumerate(profile.get("persistent_menu", [])):
        check_string(
            f"bot.messenger_profile.persistent_menu[{n}].title", item.get("title"), LIMITS["fb_menu_title"], False
        )
        check_payload(f"bot.messenger_profile.persistent_menu[{n}]", item.get("payload"))
    for n, item in enumerate(profile.get("ice_breakers", [])):
        check_string(
            f"bot.messenger_profile.ice_breakers[{n}].question", item.get("question"), LIMITS["fb_ice_breaker"], False
        )
        check_payload(f"bot.messenger_profile.ice_breakers[{n}]", item.get("payload"))

    for key in ("fallback", "attachment"):
        if data["bot"].get(key) not in intents:
            errors.append(f"bot.{key}: must name an intent")
    if "on_return" in data["bot"] and data["bot"]["on_return"] not in intents:
        errors.append("bot.on_return: must name an intent")

    for n, command in enumerate(data.get("commands", [])):
        if command.get("command") not in {
            c for i in intents.values() for c in i.get("triggers", {}).get("commands", [])
        }:
            errors.append(f"commands[{n}]: /{command.get('command')} is not a trigger of any intent")
        check_string(f"commands[{n}].description", command.get("description"), LIMITS["tg_command_description"])

    errors.extend(validate_catalog(data["catalog"], strings, default))
    return errors


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
