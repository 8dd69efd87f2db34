"""skills.json: the conversation as data. Load it (checked by skills_check.py) and look things up."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatbot.engine import understand
from chatbot.engine.skills_check import LIMITS, SkillsError, fill, payload_regex, utf16_len, validate

__all__ = ["LIMITS", "Skills", "SkillsError", "build", "load", "utf16_len"]


@dataclass
class Skills:
    data: dict
    actions: dict[str, Callable] = field(default_factory=dict)
    payload_intents: list[tuple[Pattern, str]] = field(default_factory=list)
    command_intents: dict[str, str] = field(default_factory=dict)
    text_intents: dict[str, list[tuple[Pattern, str, tuple]]] = field(default_factory=dict)
    aliases: dict[tuple[str, str], list[tuple[Pattern, str]]] = field(default_factory=dict)
    entities: dict[str, dict[str, str]] = field(default_factory=dict)  # {"skill": {folded name: id}}
    finders: dict[str, tuple[str, ...]] = field(default_factory=dict)  # each entity's names: is one in the text?
    names: list[str] = field(default_factory=list)  # one-word names, for correcting near misses
    merged: dict[tuple[str, str], dict] = field(default_factory=dict)  # words(), once per locale and part

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

    def vocabulary(self, locale: str) -> dict:
        vocabulary = self.data.get("vocabulary", {})
        return vocabulary.get(locale) or vocabulary.get(self.default_locale, {})

    def words(self, locale: str, part: str) -> dict:
        """A part of the vocabulary ("meanings", "durations") in ``locale``, then the default's, then
        every other (people mix languages): phrase lists joined, tables merged with ``locale`` first."""
        if (locale, part) not in self.merged:
            table: dict = {}
            for loc in self._with_fallback(locale):
                for name, words in self.vocabulary(loc).get(part, {}).items():
                    if isinstance(words, dict):
                        table[name] = {**words, **table.get(name, {})}
                    else:
                        table.setdefault(name, []).extend(words)
            self.merged[(locale, part)] = table
        return self.merged[(locale, part)]

    def pick_choice(self, choices: list[dict], locale: str, text: str) -> str:
        return understand.pick_choice(text, choices, self.words(locale, "meanings")) if choices else ""

    def match_payload(self, payload: str) -> tuple[str, dict] | None:
        for pattern, intent in self.payload_intents:
            found = pattern.match(payload)
            if found:
                return intent, found.groupdict()
        return None

    def _with_fallback(self, locale: str) -> list[str]:
        # People mix languages: the user's patterns first, then the default's, then the rest.
        return list(dict.fromkeys([locale, self.default_locale, *self.data["strings"]]))

    def guess_locale(self, text: str) -> str:
        """The language a message is written in, for someone whose language is not known yet: the
        first locale (the default first) whose own patterns match it; the default when none does."""
        folded = understand.fold(text).lstrip(understand.OPENERS)
        named = self.named_in(folded)
        for loc in self._with_fallback(self.default_locale):
            candidates = self.text_intents.get(loc, [])
            if any(pattern.needs <= named and pattern.search(folded) for pattern, _, _ in candidates):
                return loc
        return self.default_locale

    def match_alias(self, state: str | None, locale: str, text: str) -> str | None:
        folded = understand.fold(text)
        lead = len(folded) - len(folded.lstrip(understand.OPENERS))
        folded, text = folded[lead:], text[lead:]
        for loc in self._with_fallback(locale):
            for pattern, target in self.aliases.get((state or "", loc), []):
                found = pattern.search(folded)
                if found:
                    return fill(target, self._arguments(found, text))
        return None

    def match_text(
        self, state: str | None, locale: str, text: str, scoped_only: bool = False
    ) -> tuple[str, dict] | None:
        """A text pattern for this state first, then one that applies anywhere (unless ``scoped_only``:
        a state that takes free text). Matched without case or accents; a second try with near-miss
        names corrected ("pyhton"). Captured text comes back as written; a captured name, as its id."""
        folded = understand.fold(text)
        lead = len(folded) - len(folded.lstrip(understand.OPENERS))  # "¿qué sigue?" reads as "qué sigue?"
        folded, text = folded[lead:], text[lead:]
        found = self._search(state, locale, folded, text, scoped_only)
        if found is None and self.names:
            fixed = understand.correct(folded, self.names)
            if fixed != folded:
                found = self._search(state, locale, fixed, fixed, scoped_only)
        return found

    def named_in(self, folded: str) -> frozenset[str]:
        """The entities (skill) some name of which the text holds: a pattern that needs one can only
        match then, so the others are not even compiled (a cold start's first message) nor run."""
        return frozenset(entity for entity, names in self.finders.items() if any(n in folded for n in names))

    def _search(self, state, locale, folded: str, original: str, scoped_only: bool) -> tuple[str, dict] | None:
        candidates = [c for loc in self._with_fallback(locale) for c in self.text_intents.get(loc, [])]
        named = self.named_in(folded)
        for scoped in (True, False) if not scoped_only else (True,):
            for pattern, intent, in_states in candidates:
                if bool(in_states) != scoped or (scoped and state not in in_states) or not pattern.needs <= named:
                    continue
                found = pattern.search(folded)
                if found:
                    return intent, self._arguments(found, original)
        return None

    def _arguments(self, found: re.Match, original: str) -> dict:
        args = {}
        for name, value in found.groupdict().items():
            if value is None:
                continue
            if name in self.entities:
                args[name] = self.entities[name].get(understand.trim(value), value)
            else:
                args[name] = original[found.start(name) : found.end(name)].strip()
        return args


def load(path: str, actions: dict[str, Callable] | None = None, checks: tuple = ()) -> Skills:
    """The skills of ``path``, checked. A file checked before by the same rules (its stamp, written
    beside it when the image is built or the first time it loads here, matches) is not checked
    again: the check compiles every pattern, which is most of a cold start's own work."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SkillsError([f"{path}: not valid JSON: {error}"]) from error
    actions = actions or {}
    digest = stamp_of(raw, actions, checks)
    stamp = Path(path + ".checked")
    checked = stamp.is_file() and stamp.read_text(encoding="ascii", errors="replace").strip() == digest
    skills = build(data, actions, checks, checked=checked)
    if not checked:
        with contextlib.suppress(OSError):  # a read-only image without a stamp checks at every start
            stamp.write_text(digest + "\n", encoding="ascii")
    return skills


def stamp_of(raw: bytes, actions: dict[str, Callable], checks: tuple) -> str:
    """What a check depends on: the file, the checking code, the action names and the bot's own rules."""
    digest = hashlib.sha256(raw)
    for name in sorted({__name__, validate.__module__, *(check.__module__ for check in checks)}):
        digest.update(Path(sys.modules[name].__file__ or "").read_bytes())
    digest.update("\n".join(sorted(actions)).encode())
    return digest.hexdigest()


class Pattern:
    """A skills.json pattern, compiled the first time it is used: a cold start's first message
    needs a handful of the hundreds there are (the {skill} ones are long alternations). ``needs``:
    the entities it names, one of whose names a text must hold for it to match."""

    __slots__ = ("source", "flags", "needs", "_compiled")

    def __init__(self, source: str, flags: int = re.IGNORECASE, needs: frozenset[str] = frozenset()) -> None:
        self.source, self.flags, self.needs = source, flags, needs
        self._compiled: re.Pattern | None = None

    def compiled(self) -> re.Pattern:
        if self._compiled is None:
            self._compiled = re.compile(self.source, self.flags)
        return self._compiled

    def search(self, text: str) -> re.Match | None:
        return self.compiled().search(text)

    def match(self, text: str) -> re.Match | None:
        return self.compiled().match(text)


def build(data: dict, actions: dict[str, Callable], checks: tuple = (), checked: bool = False) -> Skills:
    errors = [] if checked else validate(data, actions, checks)
    if errors:
        raise SkillsError(errors)
    skills = Skills(data=data, actions=actions, entities={"skill": skill_names(data)})
    skills.names = [name for table in skills.entities.values() for name in table if " " not in name]
    names = {entity: understand.alternation(list(table)) for entity, table in skills.entities.items()}
    # Plain substring tests: the names as one regex took longer to compile than the rest of a first message.
    skills.finders = {entity: tuple(sorted({n for n in table if n})) for entity, table in skills.entities.items()}

    def expand(pattern: str) -> Pattern:
        needs = frozenset(entity for entity in names if "{" + entity + "}" in pattern)
        for entity in needs:  # each entity's alternation, built once for every pattern that names it
            pattern = pattern.replace("{" + entity + "}", f"(?P<{entity}>{names[entity]})")
        return Pattern(pattern, needs=needs)

    for name, intent in data["intents"].items():
        triggers = intent.get("triggers", {})
        for template in triggers.get("payloads", []):
            skills.payload_intents.append((Pattern(payload_regex(template), re.ASCII), name))
        for command in triggers.get("commands", []):
            skills.command_intents[command] = name
        in_states = tuple(triggers.get("in_states", ()))
        for locale, patterns in triggers.get("patterns", {}).items():
            for pattern in patterns:
                skills.text_intents.setdefault(locale, []).append((expand(pattern), name, in_states))
    for state_name, state in data.get("states", {}).items():
        for locale, table in state.get("aliases", {}).items():
            skills.aliases[(state_name, locale)] = [(expand(pattern), target) for pattern, target in table.items()]
    return skills


def skill_names(data: dict) -> dict[str, str]:
    """Every way skills.json names a skill (its id, its titles, its synonyms), folded, to its id."""
    names: dict[str, str] = {}
    for skill in data.get("catalog", []):
        phrases = [skill["id"], *skill["title"].values()]
        phrases += [p for words in skill.get("synonyms", {}).values() for p in words]
        for phrase in phrases:
            names.setdefault(understand.trim(phrase), skill["id"])
    return names
