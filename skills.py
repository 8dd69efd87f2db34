"""skills.json: the conversation as data. Load it (checked by skills_check.py) and look things up."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skills_check import LIMITS, SkillsError, fill, payload_pattern, utf16_len, validate

__all__ = ["LIMITS", "Skills", "SkillsError", "build", "load", "utf16_len"]


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


def load(path: str, actions: dict[str, Callable] | None = None, checks: tuple = ()) -> Skills:
    with open(path, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as error:
            raise SkillsError([f"{path}: not valid JSON: {error}"]) from error
    return build(data, actions or {}, checks)


def build(data: dict, actions: dict[str, Callable], checks: tuple = ()) -> Skills:
    errors = validate(data, actions, checks)
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
